#include "server/app/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace pbx {
namespace {

constexpr char kDefaultDatabaseUrl[] = "postgresql://pbx@127.0.0.1:5433/pbx";
constexpr char kDefaultMetricsListen[] = "127.0.0.1:9464";

// Reads an integer variable within [min, max] into `out`, or records why not.
void ReadInt(const EnvLookup& env, absl::string_view name, int min, int max,
             int& out, std::vector<std::string>& problems) {
  std::optional<std::string> value = env(name);
  if (!value || value->empty()) return;
  int parsed;
  if (!absl::SimpleAtoi(*value, &parsed) || parsed < min || parsed > max) {
    problems.push_back(
        absl::StrCat(name, " must be an integer in [", min, ", ", max, "]"));
    return;
  }
  out = parsed;
}

// PBX_METRICS_LISTEN: unset means the default, empty or "off" means no
// listener, anything else must be address:port.
void ReadMetricsListen(const EnvLookup& env, std::string& out,
                       std::vector<std::string>& problems) {
  std::optional<std::string> value = env("PBX_METRICS_LISTEN");
  if (!value) {
    out = kDefaultMetricsListen;
    return;
  }
  if (value->empty() || *value == "off") {
    out.clear();
    return;
  }
  const size_t colon = value->rfind(':');
  int port;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(*value).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    problems.push_back(
        "PBX_METRICS_LISTEN must be address:port (e.g. 127.0.0.1:9464), empty or off");
    return;
  }
  out = *value;
}

// A profile is a dozen lines; reading stops after this many bytes, and
// ParseEndpointProfile refuses a text that long.
constexpr size_t kMaxProfileBytes = 64 * 1024 + 1;

// The content of the regular file `path` (at most kMaxProfileBytes), or why
// not. A directory or a FIFO is refused rather than read as an empty profile.
absl::StatusOr<std::string> ReadProfileFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot open: ", std::strerror(errno)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError("not a regular file");
  }
  std::string content(kMaxProfileBytes, '\0');
  size_t filled = 0;
  while (filled < content.size()) {
    const ssize_t n = read(fd, content.data() + filled, content.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return absl::FailedPreconditionError(absl::StrCat("cannot read: ", std::strerror(error)));
    }
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  close(fd);
  content.resize(filled);
  return content;
}

// PBX_ENDPOINT_PROFILE_FILE: unset or empty means the default profile; a
// file that cannot be read or holds a bad entry stops the server at start
// (the message names the file, and the line and option of each bad entry),
// rather than Apply writing endpoints without the options the operator asked
// for.
void ReadEndpointProfile(const EnvLookup& env, EndpointProfile& out,
                         std::vector<std::string>& problems) {
  std::optional<std::string> path = env("PBX_ENDPOINT_PROFILE_FILE");
  if (!path || path->empty()) return;
  absl::StatusOr<std::string> text = ReadProfileFile(*path);
  absl::StatusOr<EndpointProfile> profile =
      text.ok() ? ParseEndpointProfile(*text) : absl::StatusOr<EndpointProfile>(text.status());
  if (!profile.ok()) {
    problems.push_back(
        absl::StrCat("PBX_ENDPOINT_PROFILE_FILE ", *path, ": ", profile.status().message()));
    return;
  }
  out = *std::move(profile);
}

bool IsHostName(absl::string_view name) {
  if (name.empty() || name.size() > 32 || !absl::ascii_islower(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
  });
}

// "PBX_ASTERISK_<NAME>_<SUFFIX>", NAME upper-cased with '-' as '_'.
std::string HostVariable(absl::string_view name, absl::string_view suffix) {
  std::string upper = absl::AsciiStrToUpper(name);
  std::replace(upper.begin(), upper.end(), '-', '_');
  return absl::StrCat("PBX_ASTERISK_", upper, "_", suffix);
}

// PBX_ASTERISK_HOSTS: "NAME=HOST[:PORT],..." (an IPv6 address in brackets);
// every host starts from the shared settings, then its own
// PBX_ASTERISK_<NAME>_SSH_USER, _SSH_KEY and _SSH_KNOWN_HOSTS. Unset or empty:
// the shared settings are the one host, named "asterisk".
void ReadAsteriskHosts(const EnvLookup& env, const SshHostOptions& shared,
                       std::vector<AsteriskHostConfig>& out, std::vector<std::string>& problems) {
  std::optional<std::string> list = env("PBX_ASTERISK_HOSTS");
  if (!list || absl::StripAsciiWhitespace(*list).empty()) {
    out = {{"asterisk", shared}};
    return;
  }
  constexpr absl::string_view kSyntax =
      "PBX_ASTERISK_HOSTS must be NAME=HOST[:PORT],... (NAME: a lower-case letter, then up to 31 "
      "lower-case letters, digits or '-')";
  std::set<std::string> names, addresses;
  for (absl::string_view entry : absl::StrSplit(*list, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    const size_t eq = entry.find('=');
    if (eq == absl::string_view::npos) {
      problems.push_back(absl::StrCat(kSyntax, "; got \"", entry, "\""));
      continue;
    }
    AsteriskHostConfig host{std::string(entry.substr(0, eq)), shared};
    absl::string_view address = entry.substr(eq + 1);
    if (!IsHostName(host.name)) {
      problems.push_back(absl::StrCat(kSyntax, "; bad name \"", host.name, "\""));
      continue;
    }
    // HOST, HOST:PORT, [V6] or [V6]:PORT.
    absl::string_view port;
    if (absl::StartsWith(address, "[")) {
      const size_t close = address.find(']');
      if (close != absl::string_view::npos && (close + 1 == address.size() ||
                                                address[close + 1] == ':')) {
        port = address.substr(std::min(address.size(), close + 2));
        address = address.substr(1, close - 1);
      } else {
        address = "";
      }
    } else if (const size_t colon = address.find(':'); colon != absl::string_view::npos) {
      port = address.substr(colon + 1);
      address = address.substr(0, colon);
    }
    if (address.empty() || absl::StrContains(address, ':') != absl::StrContains(entry, '[')) {
      problems.push_back(absl::StrCat(kSyntax, "; host ", host.name, " has no valid address"));
      continue;
    }
    host.ssh.host = std::string(address);
    if (!port.empty() && (!absl::SimpleAtoi(port, &host.ssh.port) || host.ssh.port < 1 ||
                          host.ssh.port > 65535)) {
      problems.push_back(absl::StrCat("PBX_ASTERISK_HOSTS: host ", host.name,
                                      " has a bad port (want 1-65535)"));
      continue;
    }
    for (auto [suffix, field] : {std::pair{"SSH_USER", &host.ssh.user},
                                 std::pair{"SSH_KEY", &host.ssh.private_key_path},
                                 std::pair{"SSH_KNOWN_HOSTS", &host.ssh.known_hosts_path}}) {
      if (auto value = env(HostVariable(host.name, suffix)); value && !value->empty()) {
        *field = *value;
      }
    }
    if (!names.insert(host.name).second) {
      problems.push_back(absl::StrCat("PBX_ASTERISK_HOSTS names ", host.name, " twice"));
      continue;
    }
    if (!addresses.insert(absl::StrCat(host.ssh.host, " ", host.ssh.port)).second) {
      problems.push_back(absl::StrCat("PBX_ASTERISK_HOSTS: host ", host.name,
                                      " has the address of another host"));
      continue;
    }
    out.push_back(std::move(host));
  }
}

}  // namespace

std::optional<std::string> ProcessEnv(absl::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

absl::StatusOr<ServerConfig> LoadServerConfig(const EnvLookup& env) {
  ServerConfig config;
  config.database.database_url = kDefaultDatabaseUrl;
  if (auto value = env("PBX_GRPC_LISTEN"); value && !value->empty()) {
    config.grpc_listen = *value;
  }
  if (auto value = env("PBX_DATABASE_URL"); value && !value->empty()) {
    config.database.database_url = *value;
  }
  auto read_string = [&env](absl::string_view name, std::string& out) {
    if (auto value = env(name); value && !value->empty()) out = *value;
  };
  read_string("PBX_ASTERISK_TRANSPORT", config.asterisk_transport);
  read_string("PBX_ASTERISK_SSH_HOST", config.ssh.host);
  read_string("PBX_ASTERISK_SSH_USER", config.ssh.user);
  read_string("PBX_ASTERISK_SSH_KEY", config.ssh.private_key_path);
  read_string("PBX_ASTERISK_SSH_KNOWN_HOSTS", config.ssh.known_hosts_path);
  read_string("PBX_ASTERISK_PROGRAM", config.apply.execution.asterisk_program);
  read_string("PBX_PJSIP_CONFIG_PATH", config.apply.paths.pjsip);
  read_string("PBX_DIALPLAN_CONFIG_PATH", config.apply.paths.dialplan);
  read_string("PBX_TLS_CERT_FILE", config.tls.cert_file);
  read_string("PBX_TLS_KEY_FILE", config.tls.key_file);
  read_string("PBX_TLS_CLIENT_CA_FILE", config.tls.client_ca_file);
  read_string("PBX_SECRET_KEY_FILE", config.secret_key_file);
  read_string("PBX_SECRET_PREVIOUS_KEY_FILE", config.previous_secret_key_file);
  read_string("PBX_BOOTSTRAP_ADMIN_TOKEN_FILE", config.bootstrap_admin_token_file);
  // Set but empty means "keep the SSH user's group".
  if (auto group = env("PBX_ASTERISK_FILE_GROUP")) config.apply.execution.file_group = *group;

  std::vector<std::string> problems;
  if (config.asterisk_transport != "ssh" && config.asterisk_transport != "local") {
    problems.push_back("PBX_ASTERISK_TRANSPORT must be ssh or local");
  }
  for (const auto* path : {&config.apply.paths.pjsip, &config.apply.paths.dialplan}) {
    if (path->empty() || path->front() != '/') {
      problems.push_back("PBX_PJSIP_CONFIG_PATH and PBX_DIALPLAN_CONFIG_PATH must be absolute");
      break;
    }
  }
  if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    problems.push_back("PBX_TLS_CERT_FILE and PBX_TLS_KEY_FILE go together");
  }
  if (!config.tls.client_ca_file.empty() && !config.tls.enabled()) {
    problems.push_back("PBX_TLS_CLIENT_CA_FILE needs PBX_TLS_CERT_FILE and PBX_TLS_KEY_FILE");
  }
  if (auto mode = env("PBX_TLS_CLIENT_AUTH"); mode && !mode->empty()) {
    if (*mode == "require") {
      config.tls.require_client_cert = true;
    } else if (*mode == "optional") {
      config.tls.require_client_cert = false;
    } else {
      problems.push_back("PBX_TLS_CLIENT_AUTH must be require or optional");
    }
  }
  int ssh_port = config.ssh.port;
  // Seeded from the structs' defaults, so each default is written once.
  auto seconds = [](absl::Duration d) { return static_cast<int>(absl::ToInt64Seconds(d)); };
  int connect_timeout_s = seconds(config.ssh.connect_timeout);
  int command_timeout_s = seconds(config.ssh.command_timeout);
  int lock_wait_s = seconds(config.apply.lock_wait);
  int session_idle_s = seconds(config.asterisk_session_idle);
  ReadInt(env, "PBX_ASTERISK_SSH_PORT", 1, 65535, ssh_port, problems);
  ReadInt(env, "PBX_ASTERISK_CONNECT_TIMEOUT_S", 1, 300, connect_timeout_s, problems);
  ReadInt(env, "PBX_ASTERISK_COMMAND_TIMEOUT_S", 1, 3600, command_timeout_s, problems);
  ReadInt(env, "PBX_APPLY_LOCK_TIMEOUT_S", 1, 3600, lock_wait_s, problems);
  ReadInt(env, "PBX_ASTERISK_SESSION_IDLE_S", 0, 86400, session_idle_s, problems);
  ReadInt(env, "PBX_APPLY_MAX_WAITERS", 1, 64, config.apply_max_waiters, problems);
  int drift_interval_s = seconds(config.drift_check_interval);
  ReadInt(env, "PBX_DRIFT_CHECK_INTERVAL_S", 0, 86400, drift_interval_s, problems);
  config.drift_check_interval = absl::Seconds(drift_interval_s);
  int shutdown_drain_ms = static_cast<int>(absl::ToInt64Milliseconds(config.shutdown_drain));
  ReadInt(env, "PBX_SHUTDOWN_DRAIN_MS", 0, 60000, shutdown_drain_ms, problems);
  config.shutdown_drain = absl::Milliseconds(shutdown_drain_ms);
  config.ssh.port = ssh_port;
  config.ssh.connect_timeout = absl::Seconds(connect_timeout_s);
  config.ssh.command_timeout = absl::Seconds(command_timeout_s);
  config.apply.lock_wait = absl::Seconds(lock_wait_s);
  config.asterisk_session_idle = absl::Seconds(session_idle_s);
  ReadMetricsListen(env, config.metrics_listen, problems);
  ReadInt(env, "PBX_DB_POOL_SIZE", 1, 256, config.database.size, problems);
  ReadInt(env, "PBX_DB_CONNECT_TIMEOUT_S", 1, 60,
          config.database.connect_timeout_seconds, problems);
  ReadInt(env, "PBX_DB_STATEMENT_TIMEOUT_MS", 100, 600000,
          config.database.statement_timeout_ms, problems);
  ReadEndpointProfile(env, config.apply.endpoint_profile, problems);
  ReadAsteriskHosts(env, config.ssh, config.asterisk_hosts, problems);
  if (config.asterisk_transport == "local" && config.asterisk_hosts.size() > 1) {
    problems.push_back("PBX_ASTERISK_TRANSPORT=local reaches one host: unset PBX_ASTERISK_HOSTS");
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid configuration: ", absl::StrJoin(problems, "; ")));
  }
  return config;
}

}  // namespace pbx
