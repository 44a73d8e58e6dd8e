#ifndef PBX_SERVER_CORE_APPLY_AUDIT_H_
#define PBX_SERVER_CORE_APPLY_AUDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pbx {

enum class ApplyOutcome { kRunning, kSuccess, kFailure, kInterrupted };

absl::string_view ApplyOutcomeName(ApplyOutcome outcome);  // as stored: "success"...
std::optional<ApplyOutcome> ApplyOutcomeFromName(absl::string_view name);

struct ConfigFileRecord {
  std::string path;
  std::string sha256;
  int64_t size_bytes = 0;
};

// How long one step of an Apply took.
struct ApplyPhase {
  std::string name;  // read, render, connect, upload, rename, reload, verify, audit
  int64_t duration_us = 0;
};

// Who asked for an Apply, as its audit row records it.
struct ApplyRequester {
  // The API key's name (triggered_by) and id.
  std::string name;
  std::string key_id;
  // The caller's validated free-text note.
  std::string note;
  // The request id of the RPC (x-request-id).
  std::string request_id;
  // Rewrite and reload even when the host already holds the configuration.
  bool force = false;
};

// What one Asterisk host did in an Apply: every host gets the same rendered
// files, each its own write, reload and verification.
struct HostApplyResult {
  // The host's name (PBX_ASTERISK_HOSTS) and where it is reached
  // (e.g. ssh://pbxportal@127.0.0.1:2223).
  std::string name;
  std::string address;
  ApplyOutcome outcome = ApplyOutcome::kRunning;
  std::string error_detail;
  // Whether the files were written here: a file was replaced, or may have
  // been (the connection was lost during the renames).
  bool changed = false;
  // connect, inspect, then upload, rename, reload, verify (or verify alone
  // when the host already ran the configuration).
  std::vector<ApplyPhase> phases;
  std::string reload_output;
  std::string verification;
};

// One row of apply_audit_log (FR-013).
struct ApplyAuditEntry {
  int64_t id = 0;
  absl::Time started_at;
  std::optional<absl::Time> finished_at;
  // The name of the API key that asked (rows written before keys existed hold
  // what the caller typed), and its id (empty in those rows).
  std::string triggered_by;
  std::string triggered_by_key_id;
  std::string note;
  // The request id of the RPC that asked for it (x-request-id), to find its
  // log lines; empty for rows written before ids were recorded.
  std::string request_id;
  std::string asterisk_host;
  ApplyOutcome outcome = ApplyOutcome::kRunning;
  std::string error_detail;
  int user_count = 0;
  std::string content_hash;
  std::vector<ConfigFileRecord> files;
  std::string reload_output;
  std::string verification;
  int64_t duration_ms = 0;
  // In the order they ran; an Apply that failed stops at the failing phase.
  std::vector<ApplyPhase> phases;
  // Whether it wrote the files (and so reloaded, or tried to): false for an
  // Apply that found the host already holding its configuration, or that
  // failed before writing.
  bool changed = false;
  // The caller asked to rewrite and reload whatever the host holds.
  bool forced = false;
  // One per Asterisk host, in configuration order; the Apply succeeded only
  // if every host did. `phases` above are read and render, then the phases
  // of the host that finished last; `reload_output` and `verification` are
  // the hosts' own, each line prefixed with the host's name when there are
  // several. Empty in rows written before hosts were recorded.
  std::vector<HostApplyResult> hosts;
};

// Whether `host` (a PBX_ASTERISK_HOSTS name) received `entry`'s configuration:
// its result in `entry` is a success. An entry recorded before hosts were (no
// results) names no host: when it succeeded, it counts for `legacy_host`
// alone (see LegacyHostOf). PgApplyStore::LatestHostSuccesses asks the same
// in SQL.
bool HostSucceeded(const ApplyAuditEntry& entry, absl::string_view host,
                   absl::string_view legacy_host);

// The host of `hosts` (names, in configuration order) that the successes
// recorded before hosts were went to: "asterisk" (the single-host variables'
// name) when configured, else the only host; none ("") when several hosts
// are configured and none is named "asterisk".
std::string LegacyHostOf(const std::vector<std::string>& hosts);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_APPLY_AUDIT_H_
