#ifndef PBX_SERVER_APPLY_APPLY_EXECUTION_H_
#define PBX_SERVER_APPLY_APPLY_EXECUTION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/apply/apply_plan.h"
#include "server/apply/phase_clock.h"
#include "server/asterisk/asterisk_host.h"
#include "server/core/apply_audit.h"

namespace pbx {

struct ExecutionOptions {
  // How to invoke asterisk on the host.
  std::string asterisk_program = "asterisk";
  // Group given to the written files (mode 0640), so an Asterisk running as
  // its own user can read them; empty keeps the SSH user's group.
  std::string file_group = "asterisk";
};

// What executing a plan on one host did, for the audit.
struct ExecutionRecord {
  // The files as written (set once both are in place).
  std::vector<ConfigFileRecord> files;
  // Whether the host may run something new: a rename replaced a file, or
  // whether one did cannot be known (the connection was lost meanwhile).
  bool wrote = false;
  std::string reload_output;
  std::string verification;
};

// Makes the host behind `session` run `plan`: uploads both files, renames them
// into place (FR-009), reloads Asterisk (FR-012) and verifies the live state
// against the plan, marking the phases upload, rename, reload and verify on
// `clock`. A failure says what the host now runs: before the renames nothing
// changed; a failed rename names the file already replaced; a failed reload
// or verification says whether the PBX is inconsistent.
absl::Status ExecutePlan(AsteriskHostSession& session, const ApplyPlan& plan,
                         const ExecutionOptions& options, PhaseClock& clock,
                         ExecutionRecord& record);

}  // namespace pbx

#endif  // PBX_SERVER_APPLY_APPLY_EXECUTION_H_
