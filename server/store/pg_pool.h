#ifndef PBX_SERVER_STORE_PG_POOL_H_
#define PBX_SERVER_STORE_PG_POOL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pbx {

struct PgPoolOptions {
  // libpq URL or key=value string; may carry credentials, so never logged.
  std::string database_url;
  int size = 8;
  int connect_timeout_seconds = 2;
  int statement_timeout_ms = 5000;
  // How long a request waits for a free connection before giving up.
  absl::Duration acquire_timeout = absl::Seconds(5);
};

// A snapshot of the pool for monitoring.
struct PgPoolStats {
  int in_use = 0;  // lent out, or being opened for a request
  int idle = 0;
  int max = 0;
  // Acquisitions that found no free connection and had to wait, how long
  // they waited in total, and how many gave up after acquire_timeout.
  int64_t acquire_waits = 0;
  absl::Duration acquire_wait_time;
  int64_t acquire_timeouts = 0;
};

// A small fixed-size pool of libpqxx connections (libpqxx has no locking of its
// own: one connection serves one thread at a time). Connections are opened
// lazily and dropped when they break, so the pool heals by itself after a
// database outage.
class PgPool {
 public:
  explicit PgPool(PgPoolOptions options);
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;
  ~PgPool();

  // Runs `work` on a pooled connection and turns every libpqxx exception into
  // an absl::Status (see pg_errors.h). When the connection turns out to be
  // broken before a commit was attempted (a stale connection after a database
  // restart), or its server turns out to be read-only (a standby after a
  // failover), the work is retried once on a fresh connection.
  absl::Status Run(const std::function<absl::Status(pqxx::connection&)>& work);

  // Run for work that produces a value.
  template <typename T>
  absl::StatusOr<T> Query(
      const std::function<absl::StatusOr<T>(pqxx::connection&)>& work) {
    absl::StatusOr<T> result = absl::UnknownError("query did not run");
    absl::Status status = Run([&](pqxx::connection& connection) {
      result = work(connection);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return result;
  }

  // Opens a connection outside the pool, for work that must not wait behind
  // requests (migrations, health checks).
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect() const;

  // Requests are refused with UNAVAILABLE until the schema is known to be in
  // place.
  void MarkSchemaReady() { schema_ready_.store(true); }
  bool schema_ready() const { return schema_ready_.load(); }

  PgPoolStats stats() const;

 private:
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Acquire();
  void Release(std::unique_ptr<pqxx::connection> connection);
  void DropIdleConnections();
  bool CanAcquire() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PgPoolOptions options_;
  const std::string conninfo_;
  std::atomic<bool> schema_ready_{false};

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle plus lent out
  int64_t acquire_waits_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration acquire_wait_time_ ABSL_GUARDED_BY(mu_);
  int64_t acquire_timeouts_ ABSL_GUARDED_BY(mu_) = 0;
};

// Appends the portal's connection settings (connect timeout, TCP user timeout,
// application name; target_session_attrs=read-write when it names several
// servers) to a libpq URL or key=value string, unless it sets them.
std::string WithConnectionDefaults(const std::string& database_url,
                                   int connect_timeout_seconds);

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_POOL_H_
