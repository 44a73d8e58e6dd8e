#ifndef PBX_SERVER_OBSERVABILITY_BOUNDED_READER_H_
#define PBX_SERVER_OBSERVABILITY_BOUNDED_READER_H_

#include <cstdint>
#include <functional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pbx {

// Runs a read that may be slow (a database query) on its own thread, so that
// a caller waits at most `patience` for a fresh result: one from a read that
// began after the caller asked. At most one read runs at a time, and callers
// asking while it runs share the next one, so a slow database never piles up
// reads; a result that comes too late only answers later callers if they
// asked before that read began.
template <typename T>
class BoundedReader {
 public:
  using Read = std::function<absl::StatusOr<T>()>;

  BoundedReader(Read read, absl::Duration patience)
      : read_(std::move(read)), patience_(patience), worker_([this] { Loop(); }) {}
  BoundedReader(const BoundedReader&) = delete;
  BoundedReader& operator=(const BoundedReader&) = delete;

  // Lets a read in progress finish first.
  ~BoundedReader() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    worker_.join();
  }

  // DEADLINE_EXCEEDED when no fresh result arrives within `patience`.
  absl::StatusOr<T> ReadFresh() {
    absl::MutexLock lock(&mu_);
    const uint64_t ticket = ++requested_;
    auto answered = [this, ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return answered_ >= ticket;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&answered), patience_)) {
      return absl::DeadlineExceededError("no fresh reading in time");
    }
    return latest_;
  }

 private:
  void Loop() {
    auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || requested_ > answered_;
    };
    mu_.LockWhen(absl::Condition(&has_work));
    while (!stopping_) {
      // Every request made so far is answered by a read that starts now.
      const uint64_t covers = requested_;
      mu_.Unlock();
      absl::StatusOr<T> result = read_();
      mu_.Lock();
      latest_ = std::move(result);
      answered_ = covers;
      mu_.Await(absl::Condition(&has_work));
    }
    mu_.Unlock();
  }

  const Read read_;
  const absl::Duration patience_;
  absl::Mutex mu_;
  uint64_t requested_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t answered_ ABSL_GUARDED_BY(mu_) = 0;
  absl::StatusOr<T> latest_ ABSL_GUARDED_BY(mu_) = absl::UnknownError("not read yet");
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;  // last: starts once everything above is initialized
};

}  // namespace pbx

#endif  // PBX_SERVER_OBSERVABILITY_BOUNDED_READER_H_
