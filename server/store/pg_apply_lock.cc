#include "server/store/pg_apply_lock.h"

#include <algorithm>
#include <string>
#include <utility>

#include <pqxx/pqxx>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/store/advisory_locks.h"
#include "server/store/pg_errors.h"

namespace pbx {
namespace {

// A waiter asks for the lock in slices of this length and looks at its caller
// in between, so one whose caller went away stops within a slice. Waiting in
// one long statement could only be stopped by a cancel request sent from
// another thread or connection.
constexpr absl::Duration kWaitSlice = absl::Milliseconds(200);

// SQLSTATE of a lock_timeout that ran out.
constexpr char kLockNotAvailable[] = "55P03";

// Held while one Apply runs: unlocks on destruction and gives the connection
// back for the next Apply (unless unlocking failed: then the connection is
// closed, and the session's end releases the lock).
class PgApplyLock : public ApplyLock {
 public:
  PgApplyLock(std::unique_ptr<pqxx::connection> connection,
              std::weak_ptr<PgApplyLocker::ConnectionShelf> shelf)
      : connection_(std::move(connection)), shelf_(std::move(shelf)) {}
  ~PgApplyLock() override {
    try {
      pqxx::nontransaction(*connection_).exec_params("SELECT pg_advisory_unlock($1)",
                                                     kApplyLockKey);
    } catch (...) {
      return;
    }
    PgApplyLocker::ConnectionShelf::GiveBack(shelf_, std::move(connection_));
  }

 private:
  std::unique_ptr<pqxx::connection> connection_;
  const std::weak_ptr<PgApplyLocker::ConnectionShelf> shelf_;
};

}  // namespace

PgApplyLocker::PgApplyLocker(PgPool& pool, int max_waiters)
    : pool_(pool), max_waiters_(max_waiters), kept_(std::make_shared<ConnectionShelf>()) {}

PgApplyLocker::~PgApplyLocker() { kept_->Close(); }

absl::StatusOr<PgApplyLocker::Attempt> PgApplyLocker::TakeLock(pqxx::connection& connection,
                                                               absl::Duration wait,
                                                               const IsCancelled& cancelled) {
  const absl::Time deadline = absl::Now() + wait;
  while (true) {
    const int64_t slice_ms = std::max<int64_t>(
        1, absl::ToInt64Milliseconds(std::min(kWaitSlice, deadline - absl::Now())));
    try {
      // One round trip. Waiting for another Apply is not a slow query: only
      // lock_timeout bounds it. The statements run as one implicit
      // transaction, so when the lock times out the settings roll back with it.
      pqxx::nontransaction(connection)
          .exec(absl::StrCat("SET statement_timeout = 0; SET lock_timeout = ", slice_ms,
                             "; SELECT pg_advisory_lock(", kApplyLockKey,
                             "); RESET lock_timeout; RESET statement_timeout"));
      return Attempt::kLocked;
    } catch (const pqxx::broken_connection&) {
      return Attempt::kBrokenConnection;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != kLockNotAvailable) {
        return StatusFromDatabaseException(std::current_exception());
      }
    } catch (...) {
      return StatusFromDatabaseException(std::current_exception());
    }
    if (cancelled()) {
      return absl::CancelledError("the caller went away while this Apply waited for another one");
    }
    if (absl::Now() >= deadline) {
      return absl::AbortedError(absl::StrCat("another Apply is still running after waiting ",
                                             absl::FormatDuration(wait), "; try again"));
    }
  }
}

absl::StatusOr<std::unique_ptr<ApplyLock>> PgApplyLocker::Lock(absl::Duration wait,
                                                               const IsCancelled& cancelled) {
  if (!pool_.schema_ready()) return DatabaseUnavailableError();
  {
    absl::MutexLock lock(&mu_);
    if (waiters_ >= max_waiters_) {
      return absl::AbortedError(absl::StrCat(
          waiters_, " Applies already wait for the one running (PBX_APPLY_MAX_WAITERS); "
                    "they will apply the latest users too, so try again once they are done"));
    }
    ++waiters_;
  }
  absl::Cleanup leave = [this] {
    absl::MutexLock lock(&mu_);
    --waiters_;
  };
  if (std::unique_ptr<pqxx::connection> kept = kept_->Take().resource) {
    absl::StatusOr<std::unique_ptr<ApplyLock>> locked =
        LockOn(std::move(kept), wait, cancelled);
    // A kept connection the database dropped since (a restart): open a fresh one.
    if (!absl::IsUnavailable(locked.status())) return locked;
  }
  absl::StatusOr<std::unique_ptr<pqxx::connection>> fresh = pool_.Connect();
  if (!fresh.ok()) return fresh.status();
  return LockOn(std::move(*fresh), wait, cancelled);
}

absl::StatusOr<std::unique_ptr<ApplyLock>> PgApplyLocker::LockOn(
    std::unique_ptr<pqxx::connection> connection, absl::Duration wait,
    const IsCancelled& cancelled) {
  absl::StatusOr<Attempt> attempt = TakeLock(*connection, wait, cancelled);
  if (!attempt.ok()) {
    // Only the lock was not to be had: the connection serves the next Apply.
    if (absl::IsAborted(attempt.status()) || absl::IsCancelled(attempt.status())) {
      kept_->Put(std::move(connection));
    }
    return attempt.status();
  }
  if (*attempt == Attempt::kBrokenConnection) return DatabaseUnavailableError();
  return std::unique_ptr<ApplyLock>(new PgApplyLock(std::move(connection), kept_));
}

}  // namespace pbx
