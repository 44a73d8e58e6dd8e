#ifndef PBX_SERVER_APPLY_APPLY_OPERATIONS_H_
#define PBX_SERVER_APPLY_APPLY_OPERATIONS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/asterisk/asterisk_host.h"
#include "server/core/apply_audit.h"
#include "server/store/apply_store.h"

namespace pbx {

struct ApplyOptions {
  // FR-007 and FR-008.
  std::string pjsip_path = "/etc/asterisk/pjsip.d/synergycall/generated_endpoints.conf";
  std::string dialplan_path = "/etc/asterisk/extensions.d/synergycall/generated_routing.conf";
  // How to invoke asterisk on the host.
  std::string asterisk_program = "asterisk";
  // Group given to the written files (mode 0640), so an Asterisk running as
  // its own user can read them; empty keeps the SSH user's group.
  std::string file_group = "asterisk";
  // How long an Apply waits for one already running elsewhere.
  absl::Duration lock_wait = absl::Seconds(120);
};

struct ApplyStatus {
  std::optional<ApplyAuditEntry> last_apply;
  std::optional<ApplyAuditEntry> last_successful_apply;
  bool pending_changes = true;
  std::string current_content_hash;
};

// Apply (FR-004, FR-009, FR-012, FR-013, FR-018): render the users, write both
// files atomically, reload, verify the live Asterisk against what was
// written, and audit the attempt whatever happens. Users and extensions are
// only read.
class ApplyOperations {
 public:
  ApplyOperations(ApplyStore& store, AsteriskHost& host, ApplyOptions options)
      : store_(store), host_(host), options_(std::move(options)) {}

  // The closed audit entry on success. On failure the status carries a
  // google.rpc.ErrorInfo with the audit id: UNAVAILABLE when the host (or the
  // database) cannot be reached, ABORTED when another Apply held on too long,
  // INTERNAL when writing, reloading or verifying failed.
  // `triggered_by` is validated here (see ValidateTriggeredBy); `request_id`
  // (the RPC's, already validated by transport) goes into the audit row.
  absl::StatusOr<ApplyAuditEntry> Apply(absl::string_view triggered_by,
                                        absl::string_view request_id);

  // Called once per Apply that ran (not for one refused before it started),
  // with the closed entry, including its phases and outcome: the seam
  // metrics hang on.
  using FinishedCallback = std::function<void(const ApplyAuditEntry&)>;
  void OnFinished(FinishedCallback callback) { on_finished_ = std::move(callback); }

  static constexpr int kDefaultAuditPage = 50;
  static constexpr int kMaxAuditPage = 1000;
  // Newest first; `limit` 0 means kDefaultAuditPage.
  absl::StatusOr<std::vector<ApplyAuditEntry>> ListAudit(int limit);
  absl::StatusOr<ApplyStatus> GetStatus();

 private:
  // Everything after the audit row is open; fills `entry` as it goes.
  absl::Status Run(ApplyAuditEntry& entry);

  ApplyStore& store_;
  AsteriskHost& host_;
  const ApplyOptions options_;
  FinishedCallback on_finished_;
};

}  // namespace pbx

#endif  // PBX_SERVER_APPLY_APPLY_OPERATIONS_H_
