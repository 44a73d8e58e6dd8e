#include "server/asterisk/reusing_host.h"

#include <optional>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace pbx {

struct ReusingAsteriskHost::Shelf {
  absl::Mutex mu;
  std::unique_ptr<AsteriskHostSession> session ABSL_GUARDED_BY(mu);
  absl::Time shelved_at ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;

  void Put(std::unique_ptr<AsteriskHostSession> returned) {
    std::unique_ptr<AsteriskHostSession> replaced;
    absl::MutexLock lock(&mu);
    if (closed) return;
    // Applies are serialized, so there is rarely a second one; keep the newest.
    replaced = std::move(session);
    session = std::move(returned);
    shelved_at = absl::Now();
  }
};

namespace {

// Forwards to the real session and puts it back on the shelf when the Apply
// is done with it, unless the transport failed on the way.
class LentSession : public AsteriskHostSession {
 public:
  LentSession(std::unique_ptr<AsteriskHostSession> session,
              std::weak_ptr<ReusingAsteriskHost::Shelf> shelf)
      : session_(std::move(session)), shelf_(std::move(shelf)) {}
  ~LentSession() override {
    if (!healthy_) return;
    if (std::shared_ptr<ReusingAsteriskHost::Shelf> shelf = shelf_.lock()) {
      shelf->Put(std::move(session_));
    }
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
  const std::weak_ptr<ReusingAsteriskHost::Shelf> shelf_;
  bool healthy_ = true;
};

bool StillAnswers(AsteriskHostSession& session) {
  absl::StatusOr<CommandResult> probe = session.Run("true");
  return probe.ok() && probe->exit_status == 0;
}

}  // namespace

ReusingAsteriskHost::ReusingAsteriskHost(std::unique_ptr<AsteriskHost> inner,
                                         absl::Duration idle_limit)
    : inner_(std::move(inner)), idle_limit_(idle_limit), shelf_(std::make_shared<Shelf>()) {}

ReusingAsteriskHost::~ReusingAsteriskHost() {
  std::unique_ptr<AsteriskHostSession> last;
  absl::MutexLock lock(&shelf_->mu);
  shelf_->closed = true;
  last = std::move(shelf_->session);
}

absl::StatusOr<std::unique_ptr<AsteriskHostSession>> ReusingAsteriskHost::Open() {
  if (idle_limit_ <= absl::ZeroDuration()) return inner_->Open();
  std::unique_ptr<AsteriskHostSession> kept;
  bool expired = false;
  {
    absl::MutexLock lock(&shelf_->mu);
    kept = std::move(shelf_->session);
    expired = absl::Now() - shelf_->shelved_at >= idle_limit_;
  }
  if (kept == nullptr || expired || !StillAnswers(*kept)) {
    kept.reset();
    absl::StatusOr<std::unique_ptr<AsteriskHostSession>> fresh = inner_->Open();
    if (!fresh.ok()) return fresh.status();
    kept = std::move(*fresh);
  }
  return std::unique_ptr<AsteriskHostSession>(
      new LentSession(std::move(kept), std::weak_ptr<Shelf>(shelf_)));
}

}  // namespace pbx
