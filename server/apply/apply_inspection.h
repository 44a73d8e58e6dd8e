#ifndef PBX_SERVER_APPLY_APPLY_INSPECTION_H_
#define PBX_SERVER_APPLY_APPLY_INSPECTION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/apply/apply_operations.h"
#include "server/core/config_diff.h"
#include "server/core/drift.h"

namespace pbx {

// What an Apply would do now.
struct ApplyPreview {
  ConfigDiff diff;  // the database's users against the files on the host
  struct File {
    std::string path;
    std::string rendered_sha256;
    std::optional<std::string> host_sha256;  // none when missing on the host
  };
  std::vector<File> files;
  // Whether Apply would write the files and reload Asterisk: the files
  // differ, or they match but the live Asterisk does not hold them.
  bool would_write = false;
  // Why, in a sentence.
  std::string reason;
  int user_count = 0;
  std::string content_hash;
};

struct DriftStatus {
  DriftReport report;
  absl::Time checked_at;
  std::string asterisk_host;
};

// The read-only side of Apply: Preview and Drift plan as Apply does and read
// the host, but never write, never reload and never take the Apply lock.
class ApplyInspector {
 public:
  ApplyInspector(UserStore& users, ApplyStore& store, AsteriskHost& host, ApplyOptions options)
      : users_(users), store_(store), host_(host), options_(std::move(options)) {}

  // UNAVAILABLE when the host (or, for a file-equal preview, the daemon)
  // cannot be reached.
  absl::StatusOr<ApplyPreview> Preview();
  // The three comparisons of FindDrift, read in one round trip to the host.
  // UNAVAILABLE when the host or the daemon cannot be reached.
  absl::StatusOr<DriftStatus> Drift();

 private:
  UserStore& users_;
  ApplyStore& store_;
  AsteriskHost& host_;
  const ApplyOptions options_;
  Planner planner_{users_, options_.paths, options_.endpoint_profile};
};

}  // namespace pbx

#endif  // PBX_SERVER_APPLY_APPLY_INSPECTION_H_
