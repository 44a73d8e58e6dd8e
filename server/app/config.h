#ifndef PBX_SERVER_APP_CONFIG_H_
#define PBX_SERVER_APP_CONFIG_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/apply/apply_operations.h"
#include "server/asterisk/ssh_host.h"
#include "server/store/pg_pool.h"

namespace pbx {

// TLS on the gRPC listener. Without a certificate the listener speaks
// plaintext, and then only to loopback peers.
struct TlsConfig {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
  // PEM CA of the client certificates (mTLS); empty: none asked for.
  std::string client_ca_file;
  // With a client CA: refuse callers without a certificate signed by it
  // (true), or only verify the ones that present one (false; callers then
  // authenticate with their API token alone).
  bool require_client_cert = true;
  bool enabled() const { return !cert_file.empty(); }
};

// One Asterisk host every Apply writes to.
struct AsteriskHostConfig {
  // [a-z][a-z0-9-]{0,31}: how answers, the audit and logs name it.
  std::string name;
  SshHostOptions ssh;
};

// Everything the server reads from its environment (FR-020). Defaults point at
// the local setup that deploy/up starts; README.md lists every variable.
struct ServerConfig {
  std::string grpc_listen = "127.0.0.1:50051";
  // address:port of the Prometheus /metrics listener; empty: none. Empty by
  // default so that in-process servers (tests) bind nothing unasked;
  // LoadServerConfig supplies the 127.0.0.1:9464 of a real deployment.
  std::string metrics_listen;
  PgPoolOptions database;
  // How often the database is probed for the health service.
  absl::Duration health_interval = absl::Seconds(1);

  // How the portal reaches the Asterisk host: "ssh" (default) or "local" when
  // it runs on that host itself.
  std::string asterisk_transport = "ssh";
  // The shared SSH settings (PBX_ASTERISK_SSH_*): the one host when
  // PBX_ASTERISK_HOSTS is unset, and every host's defaults otherwise.
  SshHostOptions ssh;
  // The hosts Apply writes to, at least one: PBX_ASTERISK_HOSTS
  // ("NAME=HOST[:PORT],..."), each with PBX_ASTERISK_<NAME>_SSH_USER, _KEY
  // and _KNOWN_HOSTS over the shared ones; unset, one host named "asterisk"
  // from `ssh`. The local transport has exactly one.
  std::vector<AsteriskHostConfig> asterisk_hosts;
  // How long the SSH session of one Apply is kept open for the next; zero
  // opens a new session for every Apply.
  absl::Duration asterisk_session_idle = absl::Minutes(5);
  // apply.endpoint_profile: the default, or the file PBX_ENDPOINT_PROFILE_FILE
  // names (server/core/endpoint_profile.h).
  ApplyOptions apply;
  // How many Applies of this process may wait for the one running; the next
  // is refused (ABORTED) at once. Each waiter holds a database connection.
  int apply_max_waiters = 4;
  // How often the background drift check runs (one process of all that
  // share the database); zero turns it off.
  absl::Duration drift_check_interval = absl::Seconds(60);
  // On SIGTERM, how long the server reports NOT_SERVING while still serving,
  // before it stops taking calls: health-checking clients (the gateway) move
  // their calls to other replicas first, so a rolling restart fails none.
  absl::Duration shutdown_drain = absl::Seconds(1);

  TlsConfig tls;
  // The 32-byte key that seals SIP secrets in the database (required to
  // serve), and the one it replaces during a key rotation (optional).
  std::string secret_key_file;
  std::string previous_secret_key_file;
  // When set: once the database is ready, and no live admin key exists, the
  // server creates the first admin key (see BootstrapAdminKey) with the token
  // this file holds, or a new one it writes there.
  std::string bootstrap_admin_token_file;
};

using EnvLookup = std::function<std::optional<std::string>(absl::string_view)>;

// The process environment.
std::optional<std::string> ProcessEnv(absl::string_view name);

// Reads PBX_* variables, and the endpoint profile file when one is named;
// INVALID_ARGUMENT naming every malformed variable (for the profile file: the
// file, and the line and option of each bad entry).
absl::StatusOr<ServerConfig> LoadServerConfig(const EnvLookup& env = ProcessEnv);

}  // namespace pbx

#endif  // PBX_SERVER_APP_CONFIG_H_
