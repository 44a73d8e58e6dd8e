#ifndef PBX_SERVER_STORE_PG_APPLY_LOCK_H_
#define PBX_SERVER_STORE_PG_APPLY_LOCK_H_

#include <memory>

#include <pqxx/connection>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/cancellation.h"
#include "server/common/resource_shelf.h"
#include "server/store/apply_store.h"
#include "server/store/pg_pool.h"

namespace pbx {

// The cluster-wide Apply lock: a PostgreSQL advisory lock held by a database
// session of its own, outside the pool, for the whole Apply. It vanishes with
// the session if the server dies, so a crash never leaves it taken.
//
// Waiting is bounded three ways, because each waiter holds a connection of a
// database other applications may share: at most `max_waiters` callers of
// this process wait at a time (the next one gets ABORTED at once), each waits
// at most its `wait`, and a waiter whose caller went away stops waiting.
class PgApplyLocker {
 public:
  PgApplyLocker(PgPool& pool, int max_waiters);
  ~PgApplyLocker();

  // ABORTED when the wait ran out or too many wait already; CANCELLED when
  // `cancelled` said so while waiting; UNAVAILABLE when the database is down.
  absl::StatusOr<std::unique_ptr<ApplyLock>> Lock(absl::Duration wait,
                                                  const IsCancelled& cancelled);

  using ConnectionShelf = ResourceShelf<pqxx::connection>;

 private:
  // What one attempt on a connection came to.
  enum class Attempt { kLocked, kBrokenConnection };
  absl::StatusOr<Attempt> TakeLock(pqxx::connection& connection, absl::Duration wait,
                                   const IsCancelled& cancelled);
  absl::StatusOr<std::unique_ptr<ApplyLock>> LockOn(std::unique_ptr<pqxx::connection> connection,
                                                    absl::Duration wait,
                                                    const IsCancelled& cancelled);

  PgPool& pool_;
  const int max_waiters_;
  absl::Mutex mu_;
  int waiters_ ABSL_GUARDED_BY(mu_) = 0;
  // The connection of the last Apply lock, kept for the next: opening one
  // cost more than everything else taking the lock does. Shared with the
  // locks handed out, which give it back when released.
  const std::shared_ptr<ConnectionShelf> kept_;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_APPLY_LOCK_H_
