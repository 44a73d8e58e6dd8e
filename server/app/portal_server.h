#ifndef PBX_SERVER_APP_PORTAL_SERVER_H_
#define PBX_SERVER_APP_PORTAL_SERVER_H_

#include <memory>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "server/app/config.h"
#include "server/app/database_supervisor.h"
#include "server/apply/apply_inspection.h"
#include "server/apply/drift_monitor.h"
#include "server/asterisk/asterisk_host.h"
#include "server/observability/metrics_endpoint.h"
#include "server/observability/portal_metrics.h"
#include "server/observability/state_collector.h"
#include "server/keys/key_operations.h"
#include "server/keys/token_verifier.h"
#include "server/store/pg_api_key_store.h"
#include "server/store/pg_apply_store.h"
#include "server/store/pg_pool.h"
#include "server/store/pg_user_store.h"
#include "server/store/secret_box.h"
#include "server/transport/api_key_service_impl.h"
#include "server/transport/apply_service_impl.h"
#include "server/transport/audit_service_impl.h"
#include "server/transport/registration_service_impl.h"
#include "server/transport/user_service_impl.h"
#include "server/registrations/registration_operations.h"
#include "server/users/user_operations.h"

namespace pbx {

// The whole server wired together: Postgres pool and stores, the use cases,
// the gRPC services with reflection and health behind the per-call pipeline
// (the call authenticator on the listener's credentials, then the call
// interceptor), the database supervisor and the Prometheus metrics. main()
// and the in-process tests start it the same way.
class PortalServer {
 public:
  // Starts listening on config.grpc_listen (port 0 picks a free one). Fails
  // when the address cannot be bound, the secret key or a TLS file cannot be
  // read, a method has no role, the schema cannot be applied or a stored
  // secret does not open; an unreachable database is not a failure (health
  // says NOT_SERVING until it is back).
  static absl::StatusOr<std::unique_ptr<PortalServer>> Start(const ServerConfig& config);

  ~PortalServer();

  int port() const { return port_; }

  // An Asterisk host Apply writes to, with its configured name.
  struct NamedHost {
    std::string name;
    std::unique_ptr<AsteriskHost> host;
  };
  // The /metrics port; 0 when config.metrics_listen is empty.
  int metrics_port() const {
    return metrics_endpoint_ != nullptr ? metrics_endpoint_->port() : 0;
  }

  // Reports NOT_SERVING and goes on serving for `drain` (clients that watch
  // health stop sending meanwhile), then takes no new call, lets the calls in
  // flight finish within `grace`, and stops.
  void Shutdown(absl::Duration drain, absl::Duration grace);

 private:
  PortalServer(const ServerConfig& config, SecretBox secrets);
  absl::Status StartMetricsEndpoint(const std::string& listen);
  // Once the database is ready: closes audit rows left 'running' by a server
  // that died mid-Apply, and makes the first admin key if asked to.
  void OnDatabaseReady();
  void RecoverInterruptedApplies();
  void BootstrapAdminKeyIfAsked();
  void StartDriftMonitor();

  // First, so it outlives everything that records into it.
  PortalMetrics metrics_;
  PgPool pool_;
  const SecretBox secrets_;
  PgUserStore user_store_;
  UserOperations operations_;
  UserServiceImpl user_service_;
  AuditServiceImpl audit_service_;
  PgApiKeyStore api_key_store_;
  TokenVerifier token_verifier_;
  KeyOperations key_operations_;
  ApiKeyServiceImpl api_key_service_;
  PgApplyStore apply_store_;
  std::vector<NamedHost> asterisk_hosts_;
  ApplyOperations apply_operations_;
  ApplyInspector apply_inspector_;
  ApplyServiceImpl apply_service_;
  RegistrationOperations registration_operations_;
  RegistrationServiceImpl registration_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<DatabaseSupervisor> supervisor_;
  // Started once the schema is in place; none when turned off.
  std::unique_ptr<DriftMonitor> drift_monitor_;
  absl::Duration drift_check_interval_;
  // Reads pool_ and store_ at scrape time; the endpoint goes before it.
  std::shared_ptr<StateCollector> state_collector_;
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;
  std::string bootstrap_admin_token_file_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace pbx

#endif  // PBX_SERVER_APP_PORTAL_SERVER_H_
