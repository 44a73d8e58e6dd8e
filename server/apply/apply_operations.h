#ifndef PBX_SERVER_APPLY_APPLY_OPERATIONS_H_
#define PBX_SERVER_APPLY_APPLY_OPERATIONS_H_

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/apply/apply_execution.h"
#include "server/apply/apply_plan.h"
#include "server/apply/phase_clock.h"
#include "server/asterisk/asterisk_host.h"
#include "server/asterisk/host_inspection.h"
#include "server/common/cancellation.h"
#include "server/core/api_key.h"
#include "server/core/apply_audit.h"
#include "server/store/apply_store.h"
#include "server/store/user_store.h"

namespace pbx {

struct ApplyOptions {
  ConfigPaths paths;
  ExecutionOptions execution;
  // The PJSIP options of every generated endpoint and AOR.
  EndpointProfile endpoint_profile = DefaultEndpointProfile();
  // How long an Apply waits for one already running elsewhere.
  absl::Duration lock_wait = absl::Seconds(120);
};

// One Asterisk host an Apply writes to: its name (PBX_ASTERISK_HOSTS) and
// how it is reached.
struct ApplyTarget {
  std::string name;
  AsteriskHost* host;
};

// Where the targets are, for the audit and the drift answer: one host's
// address alone, several as name=address pairs joined by commas.
std::string DescribeTargets(const std::vector<ApplyTarget>& targets);

// Where one Asterisk host stands, from the audit log alone.
struct HostApplyStatus {
  std::string name;
  std::string address;
  // The newest Apply in which this host succeeded (HostSucceeded); none
  // before its first success.
  std::optional<ApplyAuditEntry> last_success;
  // What that Apply wrote (or found there): the configuration this host last
  // received; empty before its first success.
  std::string applied_content_hash;
  // The database renders to something else, or the host never received
  // anything.
  bool pending_changes = true;
};

struct ApplyStatus {
  std::optional<ApplyAuditEntry> last_apply;
  std::optional<ApplyAuditEntry> last_successful_apply;
  // Whether any host is pending.
  bool pending_changes = true;
  std::string current_content_hash;
  // One per host, in configuration order.
  std::vector<HostApplyStatus> hosts;
};

// Apply (FR-004, FR-009, FR-012, FR-013, FR-018): one at a time, a plan of
// what the host must hold (PlanApply: the users, rendered), executed on the
// host (ExecutePlan: written atomically, reloaded, verified), and the attempt
// audited whatever happens. Users and extensions are only read.
class ApplyOperations {
 public:
  // Every Apply renders once and makes each of `targets` (at least one)
  // run the result, side by side.
  ApplyOperations(UserStore& users, ApplyStore& store, std::vector<ApplyTarget> targets,
                  ApplyOptions options);
  // One host, named "asterisk".
  ApplyOperations(UserStore& users, ApplyStore& store, AsteriskHost& host, ApplyOptions options)
      : ApplyOperations(users, store, {{"asterisk", &host}}, std::move(options)) {}

  // The closed audit entry on success. On failure the status carries an
  // ErrorInfo with the audit id: UNAVAILABLE when the host (or the database)
  // cannot be reached, ABORTED when another Apply held on too long (or too
  // many wait), CANCELLED when `cancelled` turned true while waiting for the
  // lock, INTERNAL when writing, reloading or verifying failed.
  // The audit row names `caller`; `note` is validated here (see
  // ValidateApplyNote); `request_id` (the RPC's, already validated by
  // transport) goes into the audit row. A failure's message is fit for the
  // caller (no host address, path or command: PublicMessage); the audit row
  // holds the whole story.
  //
  // With several hosts, each is written, reloaded and verified over its own
  // session while the others are; a host that fails holds the others up no
  // longer than its own timeouts. When some hosts fail, the status is
  // INTERNAL (or, when every host failed the same way, that code) and its
  // message names each failed host with its reason, the hosts that now run
  // the new configuration and those that still run the previous one; every
  // host's result is in the audit entry.
  //
  // Before writing, one round trip (while the users are read and rendered)
  // reads the files' hashes on the host and checks that the Asterisk daemon
  // answers (down: UNAVAILABLE, nothing written). When the files already
  // hold the rendered configuration and the live Asterisk verifies, nothing
  // is written or reloaded (the entry says changed: false), unless `force`.
  absl::StatusOr<ApplyAuditEntry> Apply(const Principal& caller, absl::string_view note,
                                        absl::string_view request_id, bool force,
                                        const IsCancelled& cancelled = NeverCancelled);

  // Called once per Apply that ran (not for one refused before it started),
  // with the closed entry, including its phases and outcome: the seam
  // metrics hang on.
  using FinishedCallback = std::function<void(const ApplyAuditEntry&)>;
  void OnFinished(FinishedCallback callback) { on_finished_ = std::move(callback); }

  // Newest first; `limit` 0 means kDefaultAuditPage (core/validation.h).
  absl::StatusOr<std::vector<ApplyAuditEntry>> ListAudit(int limit);
  // The last Apply, the last successful one, and for each host what it last
  // received and whether the database renders to something else now: read
  // from the database alone (the audit log, then the users, rendered),
  // nothing from the hosts.
  absl::StatusOr<ApplyStatus> GetStatus();

 private:
  // Records an Apply refused before it ran (the lock), returning `refusal`
  // with the audit id when the record could be written.
  absl::Status RecordRefusal(const absl::Status& refusal, const ApplyRequester& requester,
                             absl::Duration waited);
  struct HostRun;
  using SharedPlan = std::shared_future<absl::StatusOr<std::shared_ptr<const ApplyPlan>>>;
  // Everything after the audit row is open; fills `entry` as it goes.
  absl::Status Run(ApplyAuditEntry& entry);
  // One host's part of Run: inspect, then write, reload and verify unless it
  // already runs the plan.
  void RunOnHost(const ApplyTarget& target, const SharedPlan& planned,
                 const std::shared_future<std::shared_ptr<const ApplyPlan>>& unchanged,
                 const absl::StatusOr<ApplyStore::LatestApplies>& latest, bool force,
                 HostRun& run);
  // Whether the host already runs `plan`: its files hold the rendered bytes
  // (`inspection`) and the live state (the inspection's, else read now)
  // verifies. Fills the run's verification when so.
  absl::StatusOr<bool> HostAlreadyRuns(AsteriskHostSession& session, const ApplyPlan& plan,
                                       const HostInspection& inspection, PhaseClock& clock,
                                       HostRun& run);
  // Several hosts' statuses as one: OK when every host succeeded; else which
  // failed and why, and what each host now runs.
  static absl::Status CombinedStatus(const std::vector<HostRun>& runs);
  // Where the Apply went, for the audit row: every host's address.

  UserStore& users_;
  ApplyStore& store_;
  const std::vector<ApplyTarget> targets_;
  const ApplyOptions options_;
  Planner planner_{users_, options_.paths, options_.endpoint_profile};
  FinishedCallback on_finished_;
};

}  // namespace pbx

#endif  // PBX_SERVER_APPLY_APPLY_OPERATIONS_H_
