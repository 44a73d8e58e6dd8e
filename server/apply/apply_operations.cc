#include "server/apply/apply_operations.h"

#include <algorithm>
#include <cassert>
#include <future>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/apply/phase_clock.h"
#include "server/asterisk/asterisk_cli.h"
#include "server/core/live_state.h"
#include "server/core/sha256.h"
#include "server/common/failpoint.h"
#include "server/common/side_by_side.h"
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

std::string DescribeTargets(const std::vector<ApplyTarget>& targets) {
  std::vector<std::string> addresses;
  for (const ApplyTarget& target : targets) {
    addresses.push_back(targets.size() == 1
                            ? target.host->Describe()
                            : absl::StrCat(target.name, "=", target.host->Describe()));
  }
  return absl::StrJoin(addresses, ",");
}

ApplyOperations::ApplyOperations(UserStore& users, ApplyStore& store,
                                 std::vector<ApplyTarget> targets, ApplyOptions options)
    : users_(users), store_(store), targets_(std::move(targets)), options_(std::move(options)) {
  assert(!targets_.empty());
}

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

  absl::StatusOr<ApplyAuditEntry> opened = store_.OpenAudit(requester, DescribeTargets(targets_));
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
      store_.RecordRejectedApply(requester, DescribeTargets(targets_), waited, refusal.message());
  if (!rejected.ok()) return refusal;
  return WithAuditId(refusal, "APPLY_NOT_STARTED", rejected->id);
}

// One host's part of an Apply, as it went.
struct ApplyOperations::HostRun {
  HostApplyResult result;
  absl::Status status;
  // The rendered files are in place on the host (written, or found there).
  bool files_in_place = false;
  // The renames were attempted and the Apply failed after them: the host may
  // run the new files, the old ones, or a mix.
  bool state_unknown = false;
  absl::Time finished;
};

absl::Status ApplyOperations::Run(ApplyAuditEntry& entry) {
  // The users are read and rendered while the first round trip to every host
  // runs: both only read, and an Apply costs the slower of the two, not the
  // sum. What that round trip reads is decided as soon as the database has
  // answered (before any rendering): when the users did not change since the
  // kept plan and that plan is what the last successful Apply wrote, this
  // Apply most likely changes nothing, and the round trip reads the live
  // lists too (a no-op Apply's only one); otherwise the files' hashes and the
  // daemon's uptime (the pre-flight), which costs a changing Apply little.
  std::vector<ApplyPhase> plan_phases;
  std::promise<std::shared_ptr<const ApplyPlan>> read;
  const std::shared_future<std::shared_ptr<const ApplyPlan>> unchanged =
      read.get_future().share();
  const SharedPlan planned =
      std::async(std::launch::async, [this, &plan_phases, &read] {
        PhaseClock plan_clock(plan_phases);
        return planner_.Plan(&plan_clock, [&read](std::shared_ptr<const ApplyPlan> kept) {
          read.set_value(std::move(kept));
        });
      }).share();
  const absl::StatusOr<ApplyStore::LatestApplies> latest = store_.LatestAudits();
  std::vector<HostRun> runs(targets_.size());
  RunSideBySide(targets_.size(), [&](size_t i) {
    RunOnHost(targets_[i], planned, unchanged, latest, entry.forced, runs[i]);
  });

  const absl::StatusOr<std::shared_ptr<const ApplyPlan>>& plan = planned.get();
  // read and render, then the phases of the host that finished last: the
  // Apply's critical path.
  const HostRun& last = *std::max_element(
      runs.begin(), runs.end(),
      [](const HostRun& a, const HostRun& b) { return a.finished < b.finished; });
  entry.phases = plan_phases;
  entry.phases.insert(entry.phases.end(), last.result.phases.begin(), last.result.phases.end());
  if (!plan.ok()) return plan.status();
  const ApplyPlan& planned_plan = **plan;
  entry.user_count = static_cast<int>(planned_plan.extensions.size());
  entry.content_hash = planned_plan.content_hash;
  if (!latest.ok()) return latest.status();

  bool files_in_place = false;
  std::vector<std::string> reload_outputs, verifications;
  for (HostRun& run : runs) {
    run.result.outcome = run.status.ok() ? ApplyOutcome::kSuccess : ApplyOutcome::kFailure;
    run.result.error_detail = run.status.ok() ? "" : std::string(run.status.message());
    entry.changed = entry.changed || run.result.changed;
    files_in_place = files_in_place || run.files_in_place;
    const bool named = runs.size() > 1;
    if (!run.result.reload_output.empty()) {
      reload_outputs.push_back(named ? absl::StrCat(run.result.name, ": ", run.result.reload_output)
                                     : run.result.reload_output);
    }
    if (!run.result.verification.empty()) {
      verifications.push_back(named ? absl::StrCat(run.result.name, ": ", run.result.verification)
                                    : run.result.verification);
    }
    entry.hosts.push_back(run.result);
  }
  entry.reload_output = absl::StrJoin(reload_outputs, "\n");
  entry.verification = absl::StrJoin(verifications, "\n");
  if (files_in_place) {
    for (size_t i = 0; i < planned_plan.files.size(); ++i) {
      entry.files.push_back({planned_plan.files[i].path, planned_plan.file_sha256.at(i),
                             static_cast<int64_t>(planned_plan.files[i].content.size())});
    }
  }
  if (runs.size() == 1) return runs[0].status;
  return CombinedStatus(runs);
}

void ApplyOperations::RunOnHost(
    const ApplyTarget& target, const SharedPlan& planned,
    const std::shared_future<std::shared_ptr<const ApplyPlan>>& unchanged,
    const absl::StatusOr<ApplyStore::LatestApplies>& latest, bool force, HostRun& run) {
  run.result.name = target.name;
  run.result.address = target.host->Describe();
  PhaseClock clock(run.result.phases);
  auto finish = [&run](absl::Status status) {
    run.status = std::move(status);
    run.finished = absl::Now();
  };
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = target.host->Open();
  if (!session.ok()) return finish(Summarized(session.status(), "nothing was changed"));
  clock.Mark("connect");
  const std::shared_ptr<const ApplyPlan> kept = unchanged.get();
  InspectionRequest request;
  request.paths = {options_.paths.pjsip, options_.paths.dialplan};
  request.file_read = InspectionRequest::FileRead::kSha256;
  request.live_state = !force && kept != nullptr && latest.ok() && latest->successful &&
                       latest->successful->content_hash == kept->content_hash;
  request.probe_daemon = true;
  absl::StatusOr<HostInspection> inspection =
      InspectHost(**session, options_.execution.asterisk_program, request);
  clock.Mark("inspect");
  const absl::StatusOr<std::shared_ptr<const ApplyPlan>>& plan = planned.get();
  // Run reports a failed read or render once, for every host.
  if (!plan.ok() || !latest.ok()) return finish(absl::OkStatus());
  if (!inspection.ok()) {
    return finish(
        Summarized(inspection.status(), "nothing was written and Asterisk was not reloaded"));
  }
  if (!force) {
    absl::StatusOr<bool> already = HostAlreadyRuns(**session, **plan, *inspection, clock, run);
    if (!already.ok() || *already) return finish(already.status());
  }
  ExecutionRecord record;
  absl::Status executed = ExecutePlan(**session, **plan, options_.execution, clock, record);
  run.result.changed = record.wrote;
  run.files_in_place = !record.files.empty();
  run.state_unknown = record.wrote && !executed.ok();
  run.result.reload_output = std::move(record.reload_output);
  run.result.verification = std::move(record.verification);
  finish(std::move(executed));
}

absl::StatusOr<bool> ApplyOperations::HostAlreadyRuns(AsteriskHostSession& session,
                                                      const ApplyPlan& plan,
                                                      const HostInspection& inspection,
                                                      PhaseClock& clock, HostRun& run) {
  for (size_t i = 0; i < plan.files.size(); ++i) {
    if (inspection.sha256.at(i) != plan.file_sha256.at(i)) return false;
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
  run.files_in_place = true;
  run.result.verification = absl::StrCat(
      "ok, unchanged: the host already held this configuration; ", live->endpoints.size(),
      " endpoints, ", live->aors.size(), " aors, ", live->auths.size(), " auths, ",
      live->dialplan.size(), " synergy-internal extensions match the database");
  return true;
}

absl::Status ApplyOperations::CombinedStatus(const std::vector<HostRun>& runs) {
  std::vector<std::string> failures, details, updated, previous, unknown;
  std::optional<absl::StatusCode> failed_code;
  bool one_code = true;
  for (const HostRun& run : runs) {
    const std::string& name = run.result.name;
    if (run.status.ok()) {
      updated.push_back(name);
      continue;
    }
    failures.push_back(absl::StrCat(name, ": ", PublicMessage(run.status)));
    details.push_back(absl::StrCat(name, ": ", run.status.message()));
    (run.state_unknown ? unknown : previous).push_back(name);
    one_code = one_code && (!failed_code || *failed_code == run.status.code());
    failed_code = run.status.code();
  }
  if (failures.empty()) return absl::OkStatus();
  std::string summary = absl::StrCat("the Apply failed on ", failures.size(), " of ", runs.size(),
                                     " Asterisk hosts (", absl::StrJoin(failures, "; "), ")");
  if (!updated.empty()) {
    absl::StrAppend(&summary, "; running the new configuration: ", absl::StrJoin(updated, ", "));
  }
  if (!previous.empty()) {
    absl::StrAppend(&summary, "; still running the previous configuration: ",
                    absl::StrJoin(previous, ", "));
  }
  if (!unknown.empty()) {
    absl::StrAppend(&summary, "; new files written but not verified running: ",
                    absl::StrJoin(unknown, ", "));
  }
  absl::StrAppend(&summary, "; the next Apply brings every host level");
  // Hosts left apart is the server's failure (500). Only when every host
  // failed the same way does that way stand, e.g. all unreachable: 503.
  const absl::StatusCode code =
      updated.empty() && one_code ? *failed_code : absl::StatusCode::kInternal;
  return Summarized(absl::Status(code, absl::StrJoin(details, "; ")), summary);
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
  std::vector<std::string> names;
  for (const ApplyTarget& target : targets_) names.push_back(target.name);
  absl::StatusOr<std::vector<std::optional<ApplyAuditEntry>>> successes =
      store_.LatestHostSuccesses(names, LegacyHostOf(names));
  if (!successes.ok()) return successes.status();
  status.pending_changes = false;
  for (size_t i = 0; i < targets_.size(); ++i) {
    HostApplyStatus host;
    host.name = targets_[i].name;
    host.address = targets_[i].host->Describe();
    host.last_success = std::move(successes->at(i));
    if (host.last_success) host.applied_content_hash = host.last_success->content_hash;
    host.pending_changes =
        !host.last_success || host.applied_content_hash != status.current_content_hash;
    status.pending_changes = status.pending_changes || host.pending_changes;
    status.hosts.push_back(std::move(host));
  }
  return status;
}

}  // namespace pbx
