#include "server/asterisk/reusing_host.h"

#include <utility>

#include "absl/time/clock.h"

namespace pbx {
namespace {

// How soon a kept session's first command must fail for the failure to mean
// "this connection was dead before we sent anything" (a reset, a closed
// channel), rather than a host that is slow or stuck: only such a failure is
// retried on a fresh session, so a stuck host never costs two timeouts.
constexpr absl::Duration kDeadOnArrival = absl::Seconds(2);

// Forwards to the real session and puts it back on the shelf when the caller
// is done with it, unless the transport failed on the way. A session taken
// from the shelf is handed out without a round trip to check it: if it turns
// out dead on its first command, a fresh session is opened and that command
// runs there instead.
class LentSession : public AsteriskHostSession {
 public:
  LentSession(std::unique_ptr<AsteriskHostSession> session,
              std::weak_ptr<ReusingAsteriskHost::SessionShelf> shelf,
              std::weak_ptr<AsteriskHost> reopen)
      : session_(std::move(session)), shelf_(std::move(shelf)), reopen_(std::move(reopen)) {}
  ~LentSession() override {
    if (healthy_) ReusingAsteriskHost::SessionShelf::GiveBack(shelf_, std::move(session_));
  }

  absl::Status CreateFile(const std::string& path, const std::string& content) override {
    // A write is never repeated: check a kept session before the first one.
    if (!reopen_.expired()) {
      absl::StatusOr<CommandResult> probe = Run("true");
      if (!probe.ok()) return probe.status();
    }
    absl::Status status = session_->CreateFile(path, content);
    Watch(status);
    return status;
  }
  absl::StatusOr<CommandResult> Run(const std::string& command) override {
    const std::weak_ptr<AsteriskHost> kept = std::exchange(reopen_, {});
    const absl::Time start = absl::Now();
    absl::StatusOr<CommandResult> result = session_->Run(command);
    std::shared_ptr<AsteriskHost> reopen;
    if (absl::IsUnavailable(result.status()) && absl::Now() - start < kDeadOnArrival &&
        (reopen = kept.lock()) != nullptr) {
      absl::StatusOr<std::unique_ptr<AsteriskHostSession>> fresh = reopen->Open();
      if (!fresh.ok()) {
        healthy_ = false;
        return fresh.status();
      }
      session_ = std::move(*fresh);
      result = session_->Run(command);
    }
    Watch(result.status());
    return result;
  }

 private:
  void Watch(const absl::Status& status) {
    if (absl::IsUnavailable(status)) healthy_ = false;
  }

  std::unique_ptr<AsteriskHostSession> session_;
  const std::weak_ptr<ReusingAsteriskHost::SessionShelf> shelf_;
  // Set while the session came from the shelf and has not answered yet.
  std::weak_ptr<AsteriskHost> reopen_;
  bool healthy_ = true;
};

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
  std::weak_ptr<AsteriskHost> reopen = inner_;
  if (kept.resource == nullptr || kept.idle >= idle_limit_) {
    kept.resource.reset();
    absl::StatusOr<std::unique_ptr<AsteriskHostSession>> fresh = inner_->Open();
    if (!fresh.ok()) return fresh.status();
    kept.resource = std::move(*fresh);
    reopen.reset();  // a fresh session is not retried
  }
  return std::unique_ptr<AsteriskHostSession>(
      new LentSession(std::move(kept.resource), shelf_, reopen));
}

}  // namespace pbx
