#include "server/common/private_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace pbx {

absl::Status WritePrivateFile(const std::string& path, const std::string& content) {
  const std::string temporary = absl::StrCat(path, ".tmp-", getpid(), "-", std::random_device()());
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot create ", temporary));
  const bool written =
      write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
      fsync(fd) == 0;
  close(fd);
  if (!written || rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    if (errno == ENOENT) return std::optional<std::string>();
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  }
  std::stringstream content;
  content << file.rdbuf();
  return std::optional<std::string>(content.str());
}

}  // namespace pbx
