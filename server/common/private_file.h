#ifndef PBX_SERVER_COMMON_PRIVATE_FILE_H_
#define PBX_SERVER_COMMON_PRIVATE_FILE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pbx {

// Writes `content` to `path` with mode 0600: a temporary in the same
// directory, flushed, then renamed over it, so the file is never half-written
// nor readable by others for a moment. FAILED_PRECONDITION naming the path.
absl::Status WritePrivateFile(const std::string& path, const std::string& content);

// The file's content; nullopt when it does not exist. FAILED_PRECONDITION
// when it exists but cannot be read.
absl::StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path);

}  // namespace pbx

#endif  // PBX_SERVER_COMMON_PRIVATE_FILE_H_
