#include "server/asterisk/local_host.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/asterisk/shell.h"

namespace pbx {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  const int error = errno;
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  return absl::InternalError(message);
}

class LocalSession : public AsteriskHostSession {
 public:
  explicit LocalSession(absl::Duration command_timeout) : command_timeout_(command_timeout) {}

  absl::Status CreateFile(const std::string& path, const std::string& content) override {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return ErrnoError("cannot create", path);
    // Whatever the umask: 0640 is what lets Asterisk read it, and setting it
    // on the descriptor is the one way no one can redirect to another file.
    if (fchmod(fd, 0640) != 0) {
      absl::Status status = ErrnoError("cannot set the mode of", path);
      close(fd);
      return status;
    }
    size_t written = 0;
    while (written < content.size()) {
      ssize_t n = write(fd, content.data() + written, content.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        absl::Status status = ErrnoError("cannot write", path);
        close(fd);
        return status;
      }
      written += static_cast<size_t>(n);
    }
    if (fsync(fd) != 0) {
      absl::Status status = ErrnoError("cannot flush", path);
      close(fd);
      return status;
    }
    if (close(fd) != 0) return ErrnoError("cannot close", path);
    return absl::OkStatus();
  }

  absl::StatusOr<CommandResult> Run(const std::string& command) override {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError("cannot create a pipe for", command);
    const std::string wrapped = WithStderrMerged(command);
    const pid_t pid = fork();
    if (pid < 0) {
      close(pipe_fds[0]);
      close(pipe_fds[1]);
      return ErrnoError("cannot fork for", command);
    }
    if (pid == 0) {
      dup2(pipe_fds[1], STDOUT_FILENO);
      const int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, STDIN_FILENO);
      // The server blocks SIGTERM/SIGINT for sigwait; the command must not
      // inherit that.
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      setpgid(0, 0);
      execl("/bin/sh", "sh", "-c", wrapped.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(pipe_fds[1]);
    CommandResult result;
    const absl::Time deadline = absl::Now() + command_timeout_;
    bool timed_out = false;
    char buffer[16384];
    while (true) {
      const int64_t remaining_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (remaining_ms <= 0) {
        timed_out = true;
        break;
      }
      pollfd readable{pipe_fds[0], POLLIN, 0};
      const int ready = poll(&readable, 1, static_cast<int>(std::min<int64_t>(remaining_ms, 1000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;
      const ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      result.output.append(buffer, static_cast<size_t>(n));
    }
    close(pipe_fds[0]);
    if (timed_out) kill(-pid, SIGKILL);
    int wait_status = 0;
    while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
      return absl::UnavailableError(absl::StrCat("command did not finish within ",
                                                 absl::FormatDuration(command_timeout_), ": ",
                                                 command));
    }
    result.exit_status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    return result;
  }

 private:
  const absl::Duration command_timeout_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AsteriskHostSession>> LocalAsteriskHost::Open() {
  return std::unique_ptr<AsteriskHostSession>(new LocalSession(command_timeout_));
}

}  // namespace pbx
