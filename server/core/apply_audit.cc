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

}  // namespace pbx
