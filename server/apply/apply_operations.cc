#include "server/apply/apply_operations.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/apply/phase_clock.h"
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
                                                       const IsCancelled& cancelled) {
  absl::StatusOr<std::string> valid_note = ValidateApplyNote(note);
  if (!valid_note.ok()) return valid_note.status();
  const ApplyRequester requester{caller.key_name, caller.key_id, std::move(*valid_note),
                                 std::string(request_id)};
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
  LogInfo(status.ok() ? "apply succeeded" : "apply failed",
          {{"audit_id", absl::StrCat(entry.id)},
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
  PhaseClock clock(entry.phases);
  absl::StatusOr<ApplyPlan> plan = PlanApply(users_, options_.paths, &clock);
  if (!plan.ok()) return plan.status();
  entry.user_count = static_cast<int>(plan->extensions.size());
  entry.content_hash = plan->content_hash;

  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = host_.Open();
  if (!session.ok()) {
    return Summarized(session.status(), "nothing was changed");
  }
  clock.Mark("connect");
  ExecutionRecord record;
  absl::Status executed = ExecutePlan(**session, *plan, options_.execution, clock, record);
  entry.files = std::move(record.files);
  entry.reload_output = std::move(record.reload_output);
  entry.verification = std::move(record.verification);
  return executed;
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
  absl::StatusOr<ApplyPlan> plan = PlanApply(users_, options_.paths);
  if (!plan.ok()) return plan.status();
  status.current_content_hash = plan->content_hash;
  status.pending_changes = !status.last_successful_apply.has_value() ||
                           status.last_successful_apply->content_hash != plan->content_hash;
  return status;
}

}  // namespace pbx
