#include "server/app/portal_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "server/asterisk/local_host.h"
#include "server/asterisk/reusing_host.h"
#include "server/asterisk/ssh_host.h"
#include "server/common/log.h"
#include "server/transport/call_pipeline.h"

namespace pbx {

namespace {

// A scrape waits this long at most for the extension count; Prometheus'
// default scrape timeout is 10 s.
constexpr absl::Duration kExtensionCountPatience = absl::Seconds(1);

std::unique_ptr<AsteriskHost> MakeAsteriskHost(const ServerConfig& config) {
  if (config.asterisk_transport == "local") {
    return std::make_unique<LocalAsteriskHost>(config.ssh.command_timeout);
  }
  return std::make_unique<ReusingAsteriskHost>(std::make_unique<SshAsteriskHost>(config.ssh),
                                               config.asterisk_session_idle);
}

}  // namespace

PortalServer::PortalServer(const ServerConfig& config)
    : pool_(config.database),
      user_store_(pool_),
      operations_(user_store_),
      user_service_(operations_),
      apply_store_(pool_, config.apply_max_waiters),
      asterisk_host_(MakeAsteriskHost(config)),
      apply_operations_(user_store_, apply_store_, *asterisk_host_, config.apply),
      apply_service_(apply_operations_) {
  apply_operations_.OnFinished(
      [this](const ApplyAuditEntry& entry) { metrics_.RecordApply(entry); });
}

absl::StatusOr<std::unique_ptr<PortalServer>> PortalServer::Start(
    const ServerConfig& config) {
  std::unique_ptr<PortalServer> portal(new PortalServer(config));
  if (!config.metrics_listen.empty()) {
    if (absl::Status started = portal->StartMetricsEndpoint(config.metrics_listen);
        !started.ok()) {
      return started;
    }
  }

  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's built-in health service has no descriptor of its own; touching
  // ours keeps it linked in, so reflection can describe grpc.health.v1.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.grpc_listen, grpc::InsecureServerCredentials(),
                           &portal->port_);
  builder.RegisterService(&portal->user_service_);
  builder.RegisterService(&portal->apply_service_);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<CallPipelineFactory>(portal->metrics_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  portal->server_ = builder.BuildAndStart();
  if (portal->server_ == nullptr || portal->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.grpc_listen));
  }
  grpc::HealthCheckServiceInterface* health =
      portal->server_->GetHealthCheckService();
  // gRPC starts out SERVING; nothing is until the database has been checked.
  // Each service answers health checks by name too; the supervisor flips all
  // of them together, as every one depends on the database.
  health->SetServingStatus(false);
  for (const char* service : {v1::UserService::service_full_name(),
                              v1::ApplyService::service_full_name()}) {
    health->SetServingStatus(service, false);
  }
  PortalServer* raw = portal.get();
  portal->supervisor_ = std::make_unique<DatabaseSupervisor>(
      portal->pool_, health, config.health_interval, [raw] { raw->RecoverInterruptedApplies(); });
  // The first check runs before Start returns so a healthy database serves
  // requests from the first call on.
  absl::Status first_check = portal->supervisor_->CheckNow();
  if (!first_check.ok() && !absl::IsUnavailable(first_check)) {
    portal->Shutdown(absl::ZeroDuration());
    return first_check;
  }
  if (!first_check.ok()) {
    LogWarning("database unreachable at start; retrying in the background");
  }
  portal->supervisor_->Start();
  LogInfo("gRPC server listening",
          {{"address", config.grpc_listen}, {"port", absl::StrCat(portal->port_)}});
  return portal;
}

absl::Status PortalServer::StartMetricsEndpoint(const std::string& listen) {
  state_collector_ = std::make_shared<StateCollector>(
      [this] { return pool_.stats(); }, [this] { return user_store_.CountExtensions(); },
      kExtensionCountPatience);
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint =
      MetricsEndpoint::Start(listen, {metrics_.registry(), state_collector_});
  if (!endpoint.ok()) return endpoint.status();
  metrics_endpoint_ = std::move(*endpoint);
  LogInfo("metrics listening", {{"address", listen},
                                {"port", absl::StrCat(metrics_endpoint_->port())}});
  return absl::OkStatus();
}

void PortalServer::RecoverInterruptedApplies() {
  absl::StatusOr<int> marked = apply_store_.RecoverInterruptedApplies();
  if (!marked.ok()) {
    LogWarning("cannot check for interrupted Applies", {{"error", marked.status().message()}});
  } else if (*marked > 0) {
    LogWarning("marked Applies interrupted by an earlier stop",
               {{"count", absl::StrCat(*marked)}});
  }
}

PortalServer::~PortalServer() { Shutdown(absl::ZeroDuration()); }

void PortalServer::Shutdown(absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  if (supervisor_ != nullptr) supervisor_->Stop();
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(grace));
    server_->Wait();
  }
  metrics_endpoint_.reset();
}

}  // namespace pbx
