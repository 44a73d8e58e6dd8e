#include "server/asterisk/reusing_host.h"

#include <utility>

namespace pbx {
namespace {

// Forwards to the real session and puts it back on the shelf when the Apply
// is done with it, unless the transport failed on the way.
class LentSession : public AsteriskHostSession {
 public:
  LentSession(std::unique_ptr<AsteriskHostSession> session,
              std::weak_ptr<ReusingAsteriskHost::SessionShelf> shelf)
      : session_(std::move(session)), shelf_(std::move(shelf)) {}
  ~LentSession() override {
    if (healthy_) ReusingAsteriskHost::SessionShelf::GiveBack(shelf_, std::move(session_));
  }

  absl::Status CreateFile(const std::string& path, const std::string& content) override {
    absl::Status status = session_->CreateFile(path, content);
    Watch(status);
    return status;
  }
  absl::StatusOr<CommandResult> Run(const std::string& command) override {
    absl::StatusOr<CommandResult> result = session_->Run(command);
    Watch(result.status());
    return result;
  }

 private:
  void Watch(const absl::Status& status) {
    if (absl::IsUnavailable(status)) healthy_ = false;
  }

  std::unique_ptr<AsteriskHostSession> session_;
  const std::weak_ptr<ReusingAsteriskHost::SessionShelf> shelf_;
  bool healthy_ = true;
};

bool StillAnswers(AsteriskHostSession& session) {
  absl::StatusOr<CommandResult> probe = session.Run("true");
  return probe.ok() && probe->exit_status == 0;
}

}  // namespace

ReusingAsteriskHost::ReusingAsteriskHost(std::unique_ptr<AsteriskHost> inner,
                                         absl::Duration idle_limit)
    : inner_(std::move(inner)),
      idle_limit_(idle_limit),
      shelf_(std::make_shared<SessionShelf>()) {}

ReusingAsteriskHost::~ReusingAsteriskHost() { shelf_->Close(); }

absl::StatusOr<std::unique_ptr<AsteriskHostSession>> ReusingAsteriskHost::Open() {
  if (idle_limit_ <= absl::ZeroDuration()) return inner_->Open();
  SessionShelf::Taken kept = shelf_->Take();
  if (kept.resource == nullptr || kept.idle >= idle_limit_ || !StillAnswers(*kept.resource)) {
    kept.resource.reset();
    absl::StatusOr<std::unique_ptr<AsteriskHostSession>> fresh = inner_->Open();
    if (!fresh.ok()) return fresh.status();
    kept.resource = std::move(*fresh);
  }
  return std::unique_ptr<AsteriskHostSession>(
      new LentSession(std::move(kept.resource), shelf_));
}

}  // namespace pbx
