#ifndef PBX_SERVER_APP_DATABASE_SUPERVISOR_H_
#define PBX_SERVER_APP_DATABASE_SUPERVISOR_H_

#include <functional>
#include <memory>
#include <thread>

#include <grpcpp/health_check_service_interface.h>
#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/pg_pool.h"

namespace pbx {

// Keeps the database side of the server in order: applies the schema
// migrations (retrying while the database is down) and mirrors database
// reachability into grpc.health.v1, so load balancers and the gateway's
// /healthz see an outage.
class DatabaseSupervisor {
 public:
  // After the migrations, `prepare_data` readies what the server serves (it
  // seals SIP secrets stored in clear and checks that every secret opens); a
  // failure of it keeps the server from serving. `on_schema_ready` runs once,
  // on the checking thread, right after both are done.
  using PrepareData = std::function<absl::Status(pqxx::connection&)>;
  DatabaseSupervisor(PgPool& pool, grpc::HealthCheckServiceInterface* health,
                     absl::Duration interval, PrepareData prepare_data,
                     std::function<void()> on_schema_ready);
  DatabaseSupervisor(const DatabaseSupervisor&) = delete;
  DatabaseSupervisor& operator=(const DatabaseSupervisor&) = delete;
  ~DatabaseSupervisor();

  // One check now: OK when the schema is in place and the database answers,
  // UNAVAILABLE while it cannot be reached; any other status means the schema
  // cannot be applied and retrying is futile.
  absl::Status CheckNow();

  // Repeats CheckNow every `interval` on a thread until Stop().
  void Start();
  void Stop();

 private:
  absl::Status EnsureSchema();
  bool Ping();

  PgPool& pool_;
  grpc::HealthCheckServiceInterface* const health_;
  const absl::Duration interval_;
  PrepareData prepare_data_;
  std::function<void()> on_schema_ready_;
  std::unique_ptr<pqxx::connection> probe_;  // used by the checking thread only

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pbx

#endif  // PBX_SERVER_APP_DATABASE_SUPERVISOR_H_
