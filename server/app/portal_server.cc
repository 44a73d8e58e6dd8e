#include "server/app/portal_server.h"

#include <unistd.h>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include "server/asterisk/local_host.h"
#include "server/asterisk/reusing_host.h"
#include "server/app/server_credentials.h"
#include "server/asterisk/ssh_host.h"
#include "server/common/log.h"
#include "server/keys/admin_bootstrap.h"
#include "server/store/sip_secret_sealing.h"
#include "server/transport/call_authenticator.h"
#include "server/transport/call_pipeline.h"
#include "server/transport/method_roles.h"

namespace pbx {

namespace {

// A scrape waits this long at most for the extension count; Prometheus'
// default scrape timeout is 10 s.
constexpr absl::Duration kExtensionCountPatience = absl::Seconds(1);

// The largest request: a batch create of 1000 users with every field at its
// limit is about 19.5 MB of protobuf (gRPC's default would refuse over 4 MiB).
constexpr int kMaxRequestBytes = 24 << 20;

constexpr const char* kServiceNames[] = {v1::UserService::service_full_name(),
                                         v1::ApplyService::service_full_name(),
                                         v1::ApiKeyService::service_full_name(),
                                         v1::AuditService::service_full_name(),
                                         v1::RegistrationService::service_full_name()};

std::unique_ptr<AsteriskHost> MakeAsteriskHost(const ServerConfig& config,
                                               const SshHostOptions& ssh) {
  if (config.asterisk_transport == "local") {
    return std::make_unique<LocalAsteriskHost>(config.ssh.command_timeout);
  }
  return std::make_unique<ReusingAsteriskHost>(std::make_unique<SshAsteriskHost>(ssh),
                                               config.asterisk_session_idle);
}

// Every configured host, each with its own kept session; a config built by
// hand (tests) without hosts means the shared SSH settings' one.
std::vector<PortalServer::NamedHost> MakeAsteriskHosts(const ServerConfig& config) {
  std::vector<AsteriskHostConfig> hosts = config.asterisk_hosts;
  if (hosts.empty()) hosts.push_back({"asterisk", config.ssh});
  std::vector<PortalServer::NamedHost> made;
  for (const AsteriskHostConfig& host : hosts) {
    made.push_back({host.name, MakeAsteriskHost(config, host.ssh)});
  }
  return made;
}

std::vector<ApplyTarget> TargetsOf(const std::vector<PortalServer::NamedHost>& hosts) {
  std::vector<ApplyTarget> targets;
  for (const PortalServer::NamedHost& host : hosts) targets.push_back({host.name, host.host.get()});
  return targets;
}

std::vector<RegistrationOperations::NamedHost> RegistrationHostsOf(
    const std::vector<PortalServer::NamedHost>& hosts) {
  std::vector<RegistrationOperations::NamedHost> named;
  for (const PortalServer::NamedHost& host : hosts) named.push_back({host.name, host.host.get()});
  return named;
}

// The key that seals SIP secrets, and the one it replaces during a rotation.
absl::StatusOr<SecretBox> LoadSecretKeys(const ServerConfig& config) {
  if (config.secret_key_file.empty()) {
    return absl::FailedPreconditionError(
        "PBX_SECRET_KEY_FILE must name the 32-byte key that seals SIP secrets in the database");
  }
  return SecretBox::FromKeyFiles(config.secret_key_file, config.previous_secret_key_file);
}

}  // namespace

PortalServer::PortalServer(const ServerConfig& config, SecretBox secrets)
    : pool_(config.database),
      secrets_(std::move(secrets)),
      user_store_(pool_, secrets_),
      operations_(user_store_),
      user_service_(operations_),
      audit_service_(operations_),
      api_key_store_(pool_),
      token_verifier_(api_key_store_),
      key_operations_(api_key_store_, [this] { token_verifier_.RefreshNow(); }),
      api_key_service_(key_operations_),
      apply_store_(pool_, config.apply_max_waiters),
      asterisk_hosts_(MakeAsteriskHosts(config)),
      apply_operations_(user_store_, apply_store_, TargetsOf(asterisk_hosts_), config.apply),
      apply_inspector_(user_store_, apply_store_, TargetsOf(asterisk_hosts_), config.apply),
      apply_service_(apply_operations_, apply_inspector_),
      registration_operations_(user_store_, RegistrationHostsOf(asterisk_hosts_),
                               config.apply.execution.asterisk_program),
      registration_service_(registration_operations_) {
  apply_operations_.OnFinished(
      [this](const ApplyAuditEntry& entry) { metrics_.RecordApply(entry); });
  drift_check_interval_ = config.drift_check_interval;
}

absl::StatusOr<std::unique_ptr<PortalServer>> PortalServer::Start(
    const ServerConfig& config) {
  absl::StatusOr<SecretBox> secrets = LoadSecretKeys(config);
  if (!secrets.ok()) return secrets.status();
  if (!config.bootstrap_admin_token_file.empty()) {
    // A token file that cannot serve should stop the start, not a later step.
    if (absl::StatusOr<std::optional<std::string>> token =
            ReadTokenFile(config.bootstrap_admin_token_file);
        !token.ok()) {
      return token.status();
    }
  }
  std::unique_ptr<PortalServer> portal(new PortalServer(config, std::move(*secrets)));
  portal->bootstrap_admin_token_file_ = config.bootstrap_admin_token_file;
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
  // The services, and the role each method needs (the protos say).
  const std::vector<grpc::Service*> services = {&portal->user_service_, &portal->apply_service_,
                                                &portal->api_key_service_,
                                                &portal->audit_service_,
                                                &portal->registration_service_};
  absl::StatusOr<MethodRoles> roles = MethodRoles::For({std::begin(kServiceNames), std::end(kServiceNames)});
  if (!roles.ok()) return roles.status();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config.tls);
  if (!credentials.ok()) return credentials.status();
  PortalServer* raw = portal.get();
  (*credentials)
      ->SetAuthMetadataProcessor(std::make_shared<CallAuthenticator>(
          std::move(*roles),
          [raw](absl::string_view token) { return raw->token_verifier_.Verify(token); },
          portal->metrics_));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.grpc_listen, *credentials, &portal->port_);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<CallPipelineFactory>(
      portal->metrics_,
      [raw](absl::string_view token) { return raw->token_verifier_.Cached(token); }));
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
  for (const char* service : kServiceNames) health->SetServingStatus(service, false);
  portal->supervisor_ = std::make_unique<DatabaseSupervisor>(
      portal->pool_, health, config.health_interval,
      [raw](pqxx::connection& connection) { return PrepareSipSecrets(connection, raw->secrets_); },
      [raw] { raw->OnDatabaseReady(); });
  // The first check runs before Start returns so a healthy database serves
  // requests from the first call on.
  absl::Status first_check = portal->supervisor_->CheckNow();
  if (!first_check.ok() && !absl::IsUnavailable(first_check)) {
    portal->Shutdown(absl::ZeroDuration(), absl::ZeroDuration());
    return first_check;
  }
  if (!first_check.ok()) {
    LogWarning("database unreachable at start; retrying in the background");
  }
  portal->supervisor_->Start();
  portal->token_verifier_.Start();
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

void PortalServer::OnDatabaseReady() {
  RecoverInterruptedApplies();
  BootstrapAdminKeyIfAsked();
  StartDriftMonitor();
}

void PortalServer::StartDriftMonitor() {
  if (drift_check_interval_ <= absl::ZeroDuration()) return;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  drift_monitor_ = std::make_unique<DriftMonitor>(
      apply_inspector_, apply_store_, drift_check_interval_, absl::StrCat(host, ":", getpid()),
      [this](const DriftCheckSummary& summary) { metrics_.RecordDriftCheck(summary); });
  drift_monitor_->Start();
}

void PortalServer::BootstrapAdminKeyIfAsked() {
  if (bootstrap_admin_token_file_.empty()) return;
  absl::StatusOr<std::optional<ApiKeyRecord>> created =
      BootstrapAdminKey(key_operations_, bootstrap_admin_token_file_);
  if (!created.ok()) {
    LogError("cannot create the first admin key", {{"error", created.status().message()}});
  } else if (created->has_value()) {
    LogInfo("created the first admin key",
            {{"key_id", (*created)->id}, {"token_file", bootstrap_admin_token_file_}});
  }
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

PortalServer::~PortalServer() { Shutdown(absl::ZeroDuration(), absl::ZeroDuration()); }

void PortalServer::Shutdown(absl::Duration drain, absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  // The supervisor first: its next probe would report SERVING again.
  if (supervisor_ != nullptr) supervisor_->Stop();
  if (drift_monitor_ != nullptr) drift_monitor_->Stop();
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    // A call that reaches a shutting-down gRPC server is cancelled, not
    // refused, so a client cannot retry it elsewhere: clients watching health
    // get NOT_SERVING at once and stop picking this server before then.
    absl::SleepFor(drain);
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(grace));
    server_->Wait();
  }
  metrics_endpoint_.reset();
}

}  // namespace pbx
