#ifndef PBX_SERVER_STORE_JSON_COLUMNS_H_
#define PBX_SERVER_STORE_JSON_COLUMNS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/core/apply_audit.h"
#include "server/core/drift.h"
#include "server/core/user_changes.h"

namespace pbx {

// The store's own format for its jsonb columns: what SQL readers of the tables
// see, independent of the API's messages.
//
// apply_audit_log.files:  [{"path": "...", "sha256": "...", "size_bytes": 1234}, ...]
// apply_audit_log.phases: [{"name": "upload", "duration_us": 2500}, ...]
// Integers are JSON numbers. Rows written by earlier versions (proto JSON, with
// int64 values as strings such as "2500") read the same; integers are never
// read through a double, so values above 2^53 stay exact. A list that does not
// parse reads as empty: nothing forces a jsonb column's shape.
std::string FilesToJson(const std::vector<ConfigFileRecord>& files);
std::vector<ConfigFileRecord> FilesFromJson(absl::string_view json);
std::string PhasesToJson(const std::vector<ApplyPhase>& phases);
std::vector<ApplyPhase> PhasesFromJson(absl::string_view json);
// apply_audit_log.hosts: [{"name": "a", "address": "ssh://...", "outcome":
// "success", "error_detail": "", "changed": true, "phases": [as above],
// "reload_output": "...", "verification": "..."}, ...]
std::string HostsToJson(const std::vector<HostApplyResult>& hosts);
std::vector<HostApplyResult> HostsFromJson(absl::string_view json);

// drift_check.hosts: [{"name": "a", "address": "ssh://...", "in_sync": true,
// "finding_counts": {"FILE_CHANGED": 0, ...}, "error": ""}, ...]; in_sync is
// null for a host that could not be read (as the row's own in_sync column).
std::string DriftHostsToJson(const std::vector<HostDriftSummary>& hosts);
std::vector<HostDriftSummary> DriftHostsFromJson(absl::string_view json);

// users.metadata: a JSON object of strings.
std::string MetadataToJson(const std::map<std::string, std::string>& metadata);
std::map<std::string, std::string> MetadataFromJson(absl::string_view json);

// user_change_events.changes: [{"field": "email", "old": "a@example.com",
// "new": "b@example.com"}, ...]; a value is a string, an integer, an object of
// strings (metadata), or null (none, or a secret never recorded).
std::string ChangesToJson(const std::vector<FieldChange>& changes);
std::vector<FieldChange> ChangesFromJson(absl::string_view json);

}  // namespace pbx

#endif  // PBX_SERVER_STORE_JSON_COLUMNS_H_
