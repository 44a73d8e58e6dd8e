#include "server/core/apply_audit.h"

namespace pbx {

absl::string_view ApplyOutcomeName(ApplyOutcome outcome) {
  switch (outcome) {
    case ApplyOutcome::kRunning: return "running";
    case ApplyOutcome::kSuccess: return "success";
    case ApplyOutcome::kFailure: return "failure";
    case ApplyOutcome::kInterrupted: return "interrupted";
  }
  return "running";
}

std::optional<ApplyOutcome> ApplyOutcomeFromName(absl::string_view name) {
  for (ApplyOutcome outcome : {ApplyOutcome::kRunning, ApplyOutcome::kSuccess,
                               ApplyOutcome::kFailure, ApplyOutcome::kInterrupted}) {
    if (ApplyOutcomeName(outcome) == name) return outcome;
  }
  return std::nullopt;
}

bool HostSucceeded(const ApplyAuditEntry& entry, absl::string_view host,
                   absl::string_view legacy_host) {
  if (entry.hosts.empty()) {
    return entry.outcome == ApplyOutcome::kSuccess && !legacy_host.empty() && host == legacy_host;
  }
  for (const HostApplyResult& result : entry.hosts) {
    if (result.name == host && result.outcome == ApplyOutcome::kSuccess) return true;
  }
  return false;
}

std::string LegacyHostOf(const std::vector<std::string>& hosts) {
  for (const std::string& host : hosts) {
    if (host == "asterisk") return host;
  }
  return hosts.size() == 1 ? hosts.front() : "";
}

}  // namespace pbx
