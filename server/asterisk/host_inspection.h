#ifndef PBX_SERVER_ASTERISK_HOST_INSPECTION_H_
#define PBX_SERVER_ASTERISK_HOST_INSPECTION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/asterisk/asterisk_cli.h"
#include "server/core/drift.h"
#include "server/core/live_state.h"

namespace pbx {

// What to read from the host in one round trip.
struct InspectionRequest {
  // The generated files.
  std::vector<std::string> paths;
  enum class FileRead {
    kSha256,   // sha256sum on the host: 64 bytes back per file
    kContent,  // the whole file, to diff and parse it
  };
  FileRead file_read = FileRead::kSha256;
  // The four live lists (which also prove the daemon answers).
  bool live_state = false;
  // Without the live lists: one cheap CLI command (`core show uptime`), so a
  // stopped daemon is found before anything is written.
  bool probe_daemon = false;
};

struct HostInspection {
  // One per path, in order; no content/sha256 when the file does not exist.
  // `content` is filled for kContent only.
  std::vector<HostFile> files;
  std::vector<std::optional<std::string>> sha256;
  std::optional<LiveState> live;
};

// Reads what `request` asks for with every command running side by side in
// one exec over `session`. UNAVAILABLE when the host cannot be reached or the
// Asterisk daemon does not answer (message: "Asterisk is not running on its
// host"); INTERNAL when a file exists but cannot be read.
absl::StatusOr<HostInspection> InspectHost(AsteriskHostSession& session,
                                           const std::string& asterisk_program,
                                           const InspectionRequest& request);

}  // namespace pbx

#endif  // PBX_SERVER_ASTERISK_HOST_INSPECTION_H_
