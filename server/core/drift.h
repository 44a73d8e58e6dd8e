#ifndef PBX_SERVER_CORE_DRIFT_H_
#define PBX_SERVER_CORE_DRIFT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/apply_audit.h"
#include "server/core/config_diff.h"
#include "server/core/live_state.h"

namespace pbx {

// The ways the PBX can differ from what the portal holds. The names are the
// API's (DriftFindingKind) and the metric label's.
enum class DriftKind {
  kFileChanged,       // a file on the host is not what the last Apply wrote
  kFileMissing,       // a file the last Apply wrote is gone
  kEndpointMissing,   // in the files, not in the live Asterisk
  kAorMissing,
  kAuthMissing,
  kDialplanMissing,
  kUnexpectedObject,  // live in 1000-1999, not in the files
  kPendingChanges,    // the database renders to something the last Apply did not write
  kHostUnreachable,   // the host could not be read (its name is the subject)
};
inline constexpr DriftKind kAllDriftKinds[] = {
    DriftKind::kFileChanged,      DriftKind::kFileMissing,     DriftKind::kEndpointMissing,
    DriftKind::kAorMissing,       DriftKind::kAuthMissing,     DriftKind::kDialplanMissing,
    DriftKind::kUnexpectedObject, DriftKind::kPendingChanges,  DriftKind::kHostUnreachable};
absl::string_view DriftKindName(DriftKind kind);  // "FILE_CHANGED"...

struct DriftFinding {
  DriftKind kind;
  // What differs: a file path, an object ("endpoint 1500", "dialplan 1003"),
  // "database", or a host's name (kHostUnreachable).
  std::string subject;
  std::string detail;
  // The name of the host it was found on (PBX_ASTERISK_HOSTS); FindDrift
  // leaves it to the caller, which knows the host.
  std::string host = {};
};

// A file as it is on the host now; no content when it does not exist.
struct HostFile {
  std::string path;
  std::optional<std::string> content;
};

struct DriftInputs {
  // The last successful Apply; none when nothing was ever applied.
  std::optional<ApplyAuditEntry> last_successful_apply;
  // The generated files on the host, pjsip first.
  std::vector<HostFile> host_files;
  LiveState live;
  // What the database renders to now: the two bodies (pjsip first) and
  // their content hash.
  std::string rendered_pjsip;
  std::string rendered_dialplan;
  std::string rendered_content_hash;
};

// How far the database is ahead of the files on the host.
struct PendingCounts {
  int added = 0;
  int removed = 0;
  int changed = 0;
};

struct DriftReport {
  std::vector<DriftFinding> findings;  // grouped by kind, in kAllDriftKinds order
  PendingCounts pending;
  bool in_sync() const { return findings.empty(); }
  int Count(DriftKind kind) const;
};

// Compares the three pairs: the host's files with the last successful Apply
// (by sha256), the live Asterisk with the host's files (object ids; a missing
// file is reported once and its objects are not compared), and the database
// with the last successful Apply (content hash; counted against the host's
// files).
DriftReport FindDrift(const DriftInputs& inputs);

// One host's part of a drift check: what it found there, or why the host
// could not be read (`error`, fit for callers; the report then holds one
// kHostUnreachable finding).
struct HostDriftReport {
  std::string name;
  std::string address;
  DriftReport report;
  std::string error;
};
// The report of a host that could not be read: one kHostUnreachable finding
// naming it, with `reason`.
DriftReport UnreachableHostReport(absl::string_view name, absl::string_view reason);
// Every host's findings as one report: grouped by kind, then in host order;
// `pending` is that of the host furthest behind (most extensions to add,
// remove and change).
DriftReport CombineDriftReports(const std::vector<HostDriftReport>& hosts);

// One host's part of a background drift check.
struct HostDriftSummary {
  std::string name;
  std::string address;
  // False, with `error`, when the host could not be read (or the check not
  // run at all); such a host is not in sync.
  bool completed = false;
  bool in_sync = false;
  // Findings by kind name (FILE_CHANGED...); every kind present, 0 or more
  // (HOST_UNREACHABLE 1 for a host that could not be read).
  std::map<std::string, int> counts;
  std::string error;
};

// What one background drift check found, as every server process reports it.
struct DriftCheckSummary {
  absl::Time checked_at;
  // The process that checked ("host:pid").
  std::string checked_by;
  // Every host's, in configuration order. Empty in a check stored before
  // hosts were.
  std::vector<HostDriftSummary> hosts;
  // Over every host: false, with `error`, when some host could not be read
  // or the check could not run (database unreachable...); in sync only when
  // every host is; the counts summed.
  bool completed = false;
  bool in_sync = false;
  std::map<std::string, int> counts;
  // Each failed host's error, after its name when there are several.
  std::string error;
};
// One host's summary of `report` (completed, its counts).
HostDriftSummary SummarizeDrift(const DriftReport& report);
// The check's summary of every host's report.
DriftCheckSummary SummarizeDrift(const std::vector<HostDriftReport>& hosts);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_DRIFT_H_
