#include "server/core/apply_audit.h"

#include "pbx/v1/apply_service.pb.h"

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

v1::ConfigFileRecord ToProto(const ConfigFileRecord& file) {
  v1::ConfigFileRecord proto;
  proto.set_path(file.path);
  proto.set_sha256(file.sha256);
  proto.set_size_bytes(file.size_bytes);
  return proto;
}

ConfigFileRecord FromProto(const v1::ConfigFileRecord& file) {
  return {file.path(), file.sha256(), file.size_bytes()};
}

v1::ApplyPhase ToProto(const ApplyPhase& phase) {
  v1::ApplyPhase proto;
  proto.set_name(phase.name);
  proto.set_duration_us(phase.duration_us);
  return proto;
}

ApplyPhase FromProto(const v1::ApplyPhase& phase) { return {phase.name(), phase.duration_us()}; }

}  // namespace pbx
