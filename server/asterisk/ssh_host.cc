#include "server/asterisk/ssh_host.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/asterisk/shell.h"
#include "server/core/error_info.h"

namespace pbx {
namespace {

struct SessionDeleter {
  void operator()(ssh_session session) const {
    ssh_disconnect(session);
    ssh_free(session);
  }
};
struct SftpDeleter {
  void operator()(sftp_session sftp) const { sftp_free(sftp); }
};
struct ChannelDeleter {
  void operator()(ssh_channel channel) const {
    ssh_channel_close(channel);
    ssh_channel_free(channel);
  }
};
struct KeyDeleter {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};

using SessionPtr = std::unique_ptr<ssh_session_struct, SessionDeleter>;
using SftpPtr = std::unique_ptr<sftp_session_struct, SftpDeleter>;
using ChannelPtr = std::unique_ptr<ssh_channel_struct, ChannelDeleter>;

// A command whose own deadline passed ends by itself; the watchdog only steps
// in this much later, for a call stuck inside libssh.
constexpr absl::Duration kWatchdogGrace = absl::Seconds(1);

// Bounds every operation on a session in time. libssh 0.10's SFTP calls wait
// without end (sftp_packet_read retries after each timeout) and its blocking
// channel calls wait for the peer, so a stalled host (a disk stuck in fsync, a
// paused VM, a forced command that never serves SFTP) would hold the Apply,
// and with it the cluster-wide Apply lock, forever. Armed with a deadline,
// the watchdog shuts the session's socket down when the deadline passes:
// every blocked libssh read or write then fails at once, and the session is
// lost (UNAVAILABLE, never kept for reuse). The socket stays open until libssh
// frees the session, so shutting it down from this thread is safe.
class SocketWatchdog {
 public:
  explicit SocketWatchdog(socket_t socket) : socket_(socket), thread_([this] { Watch(); }) {}
  ~SocketWatchdog() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      wake_.Signal();
    }
    thread_.join();
  }

  void Arm(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    deadline_ = deadline;
    wake_.Signal();
  }

  // True when the deadline passed before this call (the socket is shut down).
  bool Disarm() {
    absl::MutexLock lock(&mu_);
    deadline_.reset();
    return fired_;
  }

 private:
  void Watch() {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      if (!deadline_) {
        wake_.Wait(&mu_);
      } else if (absl::Now() >= *deadline_) {
        shutdown(socket_, SHUT_RDWR);
        fired_ = true;
        deadline_.reset();
      } else {
        wake_.WaitWithDeadline(&mu_, *deadline_);
      }
    }
  }

  const socket_t socket_;
  absl::Mutex mu_;
  absl::CondVar wake_;
  std::optional<absl::Time> deadline_ ABSL_GUARDED_BY(mu_);
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once everything above is set
};

// Keepalives find a peer that vanished while a session was kept idle, and the
// user timeout fails a connection whose sent data goes unacknowledged, before
// the watchdog has to.
void TuneSocket(socket_t socket, absl::Duration command_timeout) {
  const int yes = 1, idle_s = 30, interval_s = 10, probes = 3;
  const unsigned int user_timeout_ms =
      static_cast<unsigned int>(absl::ToInt64Milliseconds(command_timeout));
  setsockopt(socket, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof yes);
  setsockopt(socket, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s);
  setsockopt(socket, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s);
  setsockopt(socket, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
  setsockopt(socket, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

class SshSession : public AsteriskHostSession {
 public:
  SshSession(SessionPtr session, std::string target, absl::Duration command_timeout)
      : session_(std::move(session)),
        target_(std::move(target)),
        command_timeout_(command_timeout),
        watchdog_(ssh_get_fd(session_.get())) {}

  absl::Status CreateFile(const std::string& path, const std::string& content) override {
    watchdog_.Arm(absl::Now() + command_timeout_ + kWatchdogGrace);
    absl::Status status = Upload(path, content);
    if (watchdog_.Disarm()) {
      return absl::UnavailableError(absl::StrCat("writing ", path, " on ", target_,
                                                 " did not finish within ",
                                                 absl::FormatDuration(command_timeout_)));
    }
    return status;
  }

  absl::StatusOr<CommandResult> Run(const std::string& command) override {
    watchdog_.Arm(absl::Now() + command_timeout_ + kWatchdogGrace);
    absl::StatusOr<CommandResult> result = Exec(command);
    if (watchdog_.Disarm()) return CommandTimedOut(command);
    return result;
  }

 private:
  absl::Status Upload(const std::string& path, const std::string& content) {
    if (sftp_ == nullptr) {
      SftpPtr sftp(sftp_new(session_.get()));
      if (sftp == nullptr || sftp_init(sftp.get()) != SSH_OK) {
        return Lost("cannot start SFTP");
      }
      sftp_ = std::move(sftp);
    }
    sftp_file file = sftp_open(sftp_.get(), path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0640);
    if (file == nullptr) return SftpError("cannot create " + path);
    // The mode is set at creation, never later by path (a later chmod would
    // follow a symbolic link someone put in the file's place). A host umask
    // stricter than 0027 would keep Asterisk from reading the file: say so.
    if (sftp_attributes attributes = sftp_fstat(file); attributes != nullptr) {
      const uint32_t mode = attributes->permissions & 0777;
      sftp_attributes_free(attributes);
      if (mode != 0640) {
        sftp_close(file);
        return absl::InternalError(absl::StrCat(
            "the host created ", path, " with mode ", absl::StrFormat("%04o", mode),
            " instead of 0640: its SFTP server's umask keeps Asterisk from reading it "
            "(set it to 0027 or looser, e.g. `Subsystem sftp internal-sftp -u 0027`)"));
      }
    }
    size_t written = 0;
    while (written < content.size()) {
      const size_t chunk = std::min<size_t>(content.size() - written, 32 * 1024);
      ssize_t n = sftp_write(file, content.data() + written, chunk);
      if (n <= 0) {
        absl::Status status = SftpError("cannot write " + path);
        sftp_close(file);
        return status;
      }
      written += static_cast<size_t>(n);
    }
    // Flush to disk before the rename makes the file live; without the
    // extension the data may still be in the page cache at rename time.
    if (sftp_extension_supported(sftp_.get(), "fsync@openssh.com", "1") &&
        sftp_fsync(file) != 0) {
      absl::Status status = SftpError("cannot flush " + path);
      sftp_close(file);
      return status;
    }
    if (sftp_close(file) != SSH_NO_ERROR) return SftpError("cannot close " + path);
    return absl::OkStatus();
  }

  absl::StatusOr<CommandResult> Exec(const std::string& command) {
    ChannelPtr channel(ssh_channel_new(session_.get()));
    if (channel == nullptr || ssh_channel_open_session(channel.get()) != SSH_OK) {
      return Lost("cannot open a channel");
    }
    // Both streams in one, in the order they were written.
    const std::string wrapped = WithStderrMerged(command);
    if (ssh_channel_request_exec(channel.get(), wrapped.c_str()) != SSH_OK) {
      return Lost("cannot run a command");
    }
    CommandResult result;
    const absl::Time deadline = absl::Now() + command_timeout_;
    char buffer[16384];
    while (true) {
      const int remaining_ms = static_cast<int>(
          absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (remaining_ms <= 0) return CommandTimedOut(command);
      int n = ssh_channel_read_timeout(channel.get(), buffer, sizeof(buffer), 0,
                                       std::min(remaining_ms, 1000));
      if (n == SSH_ERROR) return Lost("connection lost while running a command");
      if (n > 0) {
        result.output.append(buffer, static_cast<size_t>(n));
      } else if (ssh_channel_is_eof(channel.get())) {
        break;
      }
    }
    result.exit_status = ssh_channel_get_exit_status(channel.get());
    return result;
  }

  absl::Status CommandTimedOut(const std::string& command) const {
    return absl::UnavailableError(absl::StrCat("command on ", target_, " did not finish within ",
                                               absl::FormatDuration(command_timeout_), ": ",
                                               command));
  }

  absl::Status Lost(absl::string_view what) {
    return absl::UnavailableError(
        absl::StrCat(what, " on ", target_, ": ", ssh_get_error(session_.get())));
  }
  absl::Status SftpError(absl::string_view what) {
    const int code = sftp_get_error(sftp_.get());
    if (code == SSH_FX_OK || code == SSH_FX_CONNECTION_LOST ||
        code == SSH_FX_NO_CONNECTION) {
      return Lost(what);
    }
    const char* reason = code == SSH_FX_PERMISSION_DENIED ? "permission denied"
                         : code == SSH_FX_NO_SUCH_FILE    ? "no such directory"
                         : code == SSH_FX_FILE_ALREADY_EXISTS ? "file exists"
                                                              : "SFTP error";
    return absl::InternalError(
        absl::StrCat(what, " on ", target_, ": ", reason, " (SFTP status ", code, ")"));
  }

  SessionPtr session_;
  SftpPtr sftp_;
  const std::string target_;
  const absl::Duration command_timeout_;
  // After the session, so it stops before the session closes the socket.
  SocketWatchdog watchdog_;
};

}  // namespace

std::string SshAsteriskHost::Describe() const {
  return absl::StrCat("ssh://", options_.user, "@", options_.host, ":", options_.port);
}

absl::StatusOr<std::unique_ptr<AsteriskHostSession>> SshAsteriskHost::Open() {
  const std::string target = Describe();
  // Each failure below tells the whole story (for the audit and the log) behind
  // a summary fit for callers (no address, path or library message).
  if (options_.private_key_path.empty() || options_.known_hosts_path.empty()) {
    return Summarized(absl::InternalError("PBX_ASTERISK_SSH_KEY and PBX_ASTERISK_SSH_KNOWN_HOSTS "
                                          "must be set to reach the Asterisk host over SSH"),
                      "the portal has no SSH key or trusted host key configured");
  }
  SessionPtr session(ssh_new());
  if (session == nullptr) return absl::InternalError("cannot create an SSH session");
  ssh_session s = session.get();
  const long timeout_seconds =
      std::max<long>(1, absl::ToInt64Seconds(options_.connect_timeout));
  const int port = options_.port;
  const int no = 0;
  // Only what is configured here counts: no ~/.ssh/config, no global
  // known_hosts, no agent.
  ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
  ssh_options_set(s, SSH_OPTIONS_HOST, options_.host.c_str());
  ssh_options_set(s, SSH_OPTIONS_PORT, &port);
  ssh_options_set(s, SSH_OPTIONS_USER, options_.user.c_str());
  ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, options_.known_hosts_path.c_str());
  ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout_seconds);
  // Each exec is a few small request/response packets; with Nagle on, every
  // one of them waits out the peer's delayed ACK (about 40 ms on Linux).
  const int yes = 1;
  ssh_options_set(s, SSH_OPTIONS_NODELAY, &yes);
  if (ssh_connect(s) != SSH_OK) {
    return Summarized(absl::UnavailableError(absl::StrCat("cannot reach the Asterisk host ",
                                                          target, ": ", ssh_get_error(s))),
                      "the Asterisk host cannot be reached");
  }
  // A connection that drops mid-handshake is an outage (UNAVAILABLE), not a
  // verdict on the host key or on our key.
  auto lost = [&](absl::string_view during) -> absl::Status {
    return Summarized(
        absl::UnavailableError(absl::StrCat("lost the connection to the Asterisk host ", target,
                                            " during ", during, ": ", ssh_get_error(s))),
        "the connection to the Asterisk host was lost");
  };
  auto untrusted = [&](const std::string& detail) -> absl::Status {
    return Summarized(absl::InternalError(detail),
                      "refused the Asterisk host: its host key is not the trusted one");
  };
  switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK:
      break;
    case SSH_KNOWN_HOSTS_ERROR:
      if (!ssh_is_connected(s)) return lost("the host key check");
      return untrusted(absl::StrCat("cannot check the host key of ", target, " against ",
                                    options_.known_hosts_path, ": ", ssh_get_error(s)));
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      return untrusted(absl::StrCat("refusing ", target, ": its host key does not match ",
                                    options_.known_hosts_path,
                                    " (the host was reinstalled, or someone is in between)"));
    default:
      return untrusted(absl::StrCat("refusing ", target, ": its host key is not in ",
                                    options_.known_hosts_path));
  }
  ssh_key raw_key = nullptr;
  if (ssh_pki_import_privkey_file(options_.private_key_path.c_str(), nullptr, nullptr,
                                  nullptr, &raw_key) != SSH_OK) {
    return Summarized(absl::InternalError(absl::StrCat("cannot read the SSH private key ",
                                                       options_.private_key_path)),
                      "the portal cannot read its SSH key");
  }
  std::unique_ptr<ssh_key_struct, KeyDeleter> key(raw_key);
  switch (ssh_userauth_publickey(s, nullptr, key.get())) {
    case SSH_AUTH_SUCCESS:
      break;
    case SSH_AUTH_ERROR:
      if (!ssh_is_connected(s)) return lost("authentication");
      [[fallthrough]];
    default:
      return Summarized(absl::InternalError(absl::StrCat("the Asterisk host ", target,
                                                         " refused our SSH key: ",
                                                         ssh_get_error(s))),
                        "the Asterisk host refused the portal's SSH key");
  }
  TuneSocket(ssh_get_fd(s), options_.command_timeout);
  return std::unique_ptr<AsteriskHostSession>(
      new SshSession(std::move(session), target, options_.command_timeout));
}

}  // namespace pbx
