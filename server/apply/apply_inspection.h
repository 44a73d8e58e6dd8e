#ifndef PBX_SERVER_APPLY_APPLY_INSPECTION_H_
#define PBX_SERVER_APPLY_APPLY_INSPECTION_H_

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/apply/apply_operations.h"
#include "server/core/config_diff.h"
#include "server/core/drift.h"

namespace pbx {

// A generated file as Apply would write it, beside the host's.
struct PreviewFile {
  std::string path;
  std::string rendered_sha256;
  // None when missing on the host (or, over several hosts, when they do not
  // all hold the same bytes).
  std::optional<std::string> host_sha256;
  // The rendered file is not what the host holds (on any host).
  bool differs = false;
};

// What an Apply would do on one host.
struct HostPreview {
  std::string name;
  std::string address;
  ConfigDiff diff;  // the database's users against the files on this host
  std::vector<PreviewFile> files;
  // Whether Apply would write the files and reload Asterisk here: the files
  // differ, they match but the live Asterisk does not hold them, or the host
  // could not be read (an Apply would try it).
  bool would_write = false;
  // Why, in a sentence.
  std::string reason;
  // Why the host could not be read, fit for callers; empty when it was.
  std::string error_detail;
};

// What an Apply would do now.
struct ApplyPreview {
  using File = PreviewFile;
  // With one host, that host's; with several: the union of their diffs (an
  // extension changed on several hosts with every aspect), files whose
  // host_sha256 is set only when every host holds the same bytes, would_write
  // when any host would, and a reason naming each host.
  ConfigDiff diff;
  std::vector<File> files;
  bool would_write = false;
  std::string reason;
  int user_count = 0;
  std::string content_hash;
  // Every host's, in configuration order.
  std::vector<HostPreview> hosts;
};

struct DriftStatus {
  // Every host's findings (each naming its host), grouped by kind, then in
  // host order; the pending counts of the host furthest behind.
  DriftReport report;
  // Every host's, in configuration order; a host that could not be read has
  // its error and one HOST_UNREACHABLE finding.
  std::vector<HostDriftReport> hosts;
  absl::Time checked_at;
  // Where it looked: the host's address, or with several hosts their
  // name=address pairs (as the Apply audit names them).
  std::string asterisk_host;
};

// The read-only side of Apply: Preview and Drift plan as Apply does and read
// every host, side by side and each over its own session, but never write,
// never reload and never take the Apply lock.
class ApplyInspector {
 public:
  // `targets`: at least one, as for ApplyOperations.
  ApplyInspector(UserStore& users, ApplyStore& store, std::vector<ApplyTarget> targets,
                 ApplyOptions options);
  // One host, named "asterisk".
  ApplyInspector(UserStore& users, ApplyStore& store, AsteriskHost& host, ApplyOptions options)
      : ApplyInspector(users, store, {{"asterisk", &host}}, std::move(options)) {}

  // One round trip per host. UNAVAILABLE when every host (or, for a
  // file-equal preview, its daemon) cannot be reached alike; a host that
  // cannot be read while another can has its error_detail and would_write.
  absl::StatusOr<ApplyPreview> Preview();
  // The three comparisons of FindDrift on every host, each host read in one
  // round trip. UNAVAILABLE when every host or daemon cannot be reached
  // alike; a host that cannot be read while another can is a
  // HOST_UNREACHABLE finding.
  absl::StatusOr<DriftStatus> Drift();
  // Drift for the background check: a host that cannot be read is always a
  // HOST_UNREACHABLE finding, never the error, which is only the database's.
  absl::StatusOr<DriftStatus> DriftOfEachHost();

  const std::vector<ApplyTarget>& targets() const { return targets_; }

 private:
  using SharedPlan = std::shared_future<absl::StatusOr<std::shared_ptr<const ApplyPlan>>>;
  struct PreviewRun;
  struct DriftRun;
  struct FromDatabase;
  void PreviewHost(const ApplyTarget& target, const SharedPlan& planned, PreviewRun& run);
  void DriftOnHost(const ApplyTarget& target, const std::shared_future<FromDatabase>& database,
                   DriftRun& run);
  // Drift, or DriftOfEachHost when `fail_when_every_host_failed` is false.
  absl::StatusOr<DriftStatus> CheckDrift(bool fail_when_every_host_failed);

  UserStore& users_;
  ApplyStore& store_;
  const std::vector<ApplyTarget> targets_;
  const ApplyOptions options_;
  Planner planner_{users_, options_.paths, options_.endpoint_profile};
};

}  // namespace pbx

#endif  // PBX_SERVER_APPLY_APPLY_INSPECTION_H_
