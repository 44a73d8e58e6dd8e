#include "server/apply/apply_operations.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/apply/phase_clock.h"
#include "server/asterisk/asterisk_cli.h"
#include "server/core/live_state.h"
#include "server/core/sha256.h"
#include "server/common/failpoint.h"
#include "server/common/log.h"
#include "server/core/error_info.h"
#include "server/core/field_violations.h"
#include "server/core/validation.h"

namespace pbx {
namespace {

// `status` naming the audit row that records the attempt, in the message and
// as ErrorInfo metadata for clients.
absl::Status WithAuditId(const absl::Status& status, absl::string_view reason,
                         int64_t audit_id) {
  return WithErrorInfo(
      absl::Status(status.code(), absl::StrCat(status.message(), " (audit id ", audit_id, ")")),
      reason, {{"audit_id", absl::StrCat(audit_id)}});
}

}  // namespace

absl::StatusOr<ApplyAuditEntry> ApplyOperations::Apply(const Principal& caller,
                                                       absl::string_view note,
                                                       absl::string_view request_id,
                                                       bool force,
                                                       const IsCancelled& cancelled) {
  absl::StatusOr<std::string> valid_note = ValidateApplyNote(note);
  if (!valid_note.ok()) return valid_note.status();
  const ApplyRequester requester{caller.key_name, caller.key_id, std::move(*valid_note),
                                 std::string(request_id), force};
  const absl::Time requested = absl::Now();
  absl::StatusOr<std::unique_ptr<ApplyLock>> lock =
      store_.LockApply(options_.lock_wait, cancelled);
  if (absl::IsAborted(lock.status()) || absl::IsCancelled(lock.status())) {
    return RecordRefusal(lock.status(), requester, absl::Now() - requested);
  }
  if (!lock.ok()) return lock.status();

  absl::StatusOr<ApplyAuditEntry> opened = store_.OpenAudit(requester, host_.Describe());
  if (!opened.ok()) return opened.status();
  ApplyAuditEntry entry = std::move(*opened);
  entry.forced = force;
  const absl::Time start = absl::Now();

  absl::Status status = Run(entry);

  entry.outcome = status.ok() ? ApplyOutcome::kSuccess : ApplyOutcome::kFailure;
  entry.error_detail = status.ok() ? "" : std::string(status.message());
  entry.duration_ms = absl::ToInt64Milliseconds(absl::Now() - start);
  Failpoint("apply.before_audit_close");
  const absl::Time closing = absl::Now();
  if (absl::Status closed = store_.CloseAudit(entry); !closed.ok()) {
    // The row stays 'running' and the next Apply marks it interrupted.
    LogError("cannot close the Apply audit entry",
             {{"audit_id", absl::StrCat(entry.id)}, {"error", closed.message()}});
  }
  LogInfo(status.ok() ? (entry.changed ? "apply succeeded" : "apply found nothing to change")
                      : "apply failed",
          {{"audit_id", absl::StrCat(entry.id)},
           {"changed", entry.changed ? "true" : "false"},
           {"forced", entry.forced ? "true" : "false"},
           {"triggered_by", entry.triggered_by},
           {"key_id", entry.triggered_by_key_id},
           {"users", absl::StrCat(entry.user_count)},
           {"duration_ms", absl::StrCat(entry.duration_ms)},
           {"error", entry.error_detail}});
  entry.phases.push_back({"audit", absl::ToInt64Microseconds(absl::Now() - closing)});
  if (on_finished_) on_finished_(entry);
  if (!status.ok()) {
    // The caller gets the summary; the audit row and the log have the rest.
    return WithAuditId(absl::Status(status.code(), PublicMessage(status)), "APPLY_FAILED",
                       entry.id);
  }
  return entry;
}

absl::Status ApplyOperations::RecordRefusal(const absl::Status& refusal,
                                            const ApplyRequester& requester,
                                            absl::Duration waited) {
  // It never ran, but it was asked for: the audit log still records it.
  absl::StatusOr<ApplyAuditEntry> rejected =
      store_.RecordRejectedApply(requester, host_.Describe(), waited, refusal.message());
  if (!rejected.ok()) return refusal;
  return WithAuditId(refusal, "APPLY_NOT_STARTED", rejected->id);
}

absl::Status ApplyOperations::Run(ApplyAuditEntry& entry) {
  // The users are read and rendered while the first round trip to the host
  // runs: both only read, and an Apply costs the slower of the two, not the
  // sum. What that round trip reads is decided as soon as the database has
  // answered (before any rendering): when the users did not change since the
  // kept plan and that plan is what the last successful Apply wrote, this
  // Apply most likely changes nothing, and the round trip reads the live
  // lists too (a no-op Apply's only one); otherwise the files' hashes and the
  // daemon's uptime (the pre-flight), which costs a changing Apply little.
  std::vector<ApplyPhase> plan_phases;
  std::promise<std::shared_ptr<const ApplyPlan>> read;
  std::future<std::shared_ptr<const ApplyPlan>> unchanged = read.get_future();
  std::future<absl::StatusOr<std::shared_ptr<const ApplyPlan>>> planned =
      std::async(std::launch::async, [this, &plan_phases, &read] {
        PhaseClock plan_clock(plan_phases);
        return planner_.Plan(&plan_clock, [&read](std::shared_ptr<const ApplyPlan> kept) {
          read.set_value(std::move(kept));
        });
      });
  std::vector<ApplyPhase> host_phases;
  PhaseClock host_clock(host_phases);
  absl::StatusOr<ApplyStore::LatestApplies> latest = store_.LatestAudits();
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = host_.Open();
  absl::StatusOr<HostInspection> inspection = absl::UnknownError("not inspected");
  if (session.ok()) {
    host_clock.Mark("connect");
    const std::shared_ptr<const ApplyPlan> kept = unchanged.get();
    InspectionRequest request;
    request.paths = {options_.paths.pjsip, options_.paths.dialplan};
    request.file_read = InspectionRequest::FileRead::kSha256;
    request.live_state = !entry.forced && kept != nullptr && latest.ok() && latest->successful &&
                         latest->successful->content_hash == kept->content_hash;
    request.probe_daemon = true;
    inspection = InspectHost(**session, options_.execution.asterisk_program, request);
    host_clock.Mark("inspect");
  }
  absl::StatusOr<std::shared_ptr<const ApplyPlan>> plan = planned.get();
  entry.phases = std::move(plan_phases);
  entry.phases.insert(entry.phases.end(), host_phases.begin(), host_phases.end());
  if (!plan.ok()) return plan.status();
  const ApplyPlan& planned_plan = **plan;
  entry.user_count = static_cast<int>(planned_plan.extensions.size());
  entry.content_hash = planned_plan.content_hash;
  if (!latest.ok()) return latest.status();
  if (!session.ok()) return Summarized(session.status(), "nothing was changed");
  if (!inspection.ok()) {
    return Summarized(inspection.status(), "nothing was written and Asterisk was not reloaded");
  }

  PhaseClock clock(entry.phases);
  if (!entry.forced) {
    absl::StatusOr<bool> already =
        HostAlreadyRuns(**session, planned_plan, *inspection, clock, entry);
    if (!already.ok() || *already) return already.status();
  }

  ExecutionRecord record;
  absl::Status executed = ExecutePlan(**session, planned_plan, options_.execution, clock, record);
  entry.changed = record.wrote;
  entry.files = std::move(record.files);
  entry.reload_output = std::move(record.reload_output);
  entry.verification = std::move(record.verification);
  return executed;
}

absl::StatusOr<bool> ApplyOperations::HostAlreadyRuns(AsteriskHostSession& session,
                                                      const ApplyPlan& plan,
                                                      const HostInspection& inspection,
                                                      PhaseClock& clock, ApplyAuditEntry& entry) {
  std::vector<ConfigFileRecord> files;
  for (size_t i = 0; i < plan.files.size(); ++i) {
    const std::string& rendered = plan.file_sha256.at(i);
    if (inspection.sha256.at(i) != rendered) return false;
    files.push_back({plan.files[i].path, rendered,
                     static_cast<int64_t>(plan.files[i].content.size())});
  }
  absl::StatusOr<LiveState> live = inspection.live
                                       ? absl::StatusOr<LiveState>(*inspection.live)
                                       : AsteriskCli(session, options_.execution.asterisk_program)
                                             .ReadLiveState();
  clock.Mark("verify");
  if (!live.ok()) {
    return Summarized(live.status(), "nothing was written and Asterisk was not reloaded");
  }
  // Right files that Asterisk does not run (edited back by hand, or loaded
  // by nobody since): the write and reload below repair that.
  if (!CompareLiveState(plan.expected, *live).empty()) return false;
  entry.changed = false;
  entry.files = std::move(files);
  entry.verification = absl::StrCat(
      "ok, unchanged: the host already held this configuration; ", live->endpoints.size(),
      " endpoints, ", live->aors.size(), " aors, ", live->auths.size(), " auths, ",
      live->dialplan.size(), " synergy-internal extensions match the database");
  return true;
}

absl::StatusOr<std::vector<ApplyAuditEntry>> ApplyOperations::ListAudit(int limit) {
  absl::StatusOr<int> page = ValidateAuditPageLimit(limit);
  if (!page.ok()) return page.status();
  return store_.ListAudit(*page);
}

absl::StatusOr<ApplyStatus> ApplyOperations::GetStatus() {
  ApplyStatus status;
  absl::StatusOr<ApplyStore::LatestApplies> latest = store_.LatestAudits();
  if (!latest.ok()) return latest.status();
  status.last_apply = std::move(latest->any);
  status.last_successful_apply = std::move(latest->successful);
  absl::StatusOr<std::shared_ptr<const ApplyPlan>> plan = planner_.Plan();
  if (!plan.ok()) return plan.status();
  status.current_content_hash = (*plan)->content_hash;
  status.pending_changes = !status.last_successful_apply.has_value() ||
                           status.last_successful_apply->content_hash != (*plan)->content_hash;
  return status;
}

}  // namespace pbx
