#include "server/apply/apply_operations.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/asterisk/asterisk_cli.h"
#include "server/asterisk/config_files.h"
#include "server/common/failpoint.h"
#include "server/common/log.h"
#include "server/core/asterisk_config.h"
#include "server/core/error_info.h"
#include "server/core/field_violations.h"
#include "server/core/live_state.h"
#include "server/core/sha256.h"
#include "server/core/sip_secret.h"
#include "server/core/validation.h"

namespace pbx {
namespace {

constexpr int kMaxListedDifferences = 20;

// A random name part for temporaries, so two portals can never collide.
std::string RandomSuffix() { return RandomHex(8); }

std::string Summarize(const std::vector<std::string>& differences) {
  std::vector<std::string> shown(
      differences.begin(),
      differences.begin() + std::min<size_t>(differences.size(), kMaxListedDifferences));
  std::string summary = absl::StrJoin(shown, "; ");
  if (differences.size() > shown.size()) {
    absl::StrAppend(&summary, "; and ", differences.size() - shown.size(), " more");
  }
  return summary;
}

// Times the phases of one Apply: each Mark closes the phase that began at
// the previous Mark (or at construction).
class PhaseClock {
 public:
  explicit PhaseClock(std::vector<ApplyPhase>& phases) : phases_(phases) {}
  void Mark(absl::string_view name) {
    const absl::Time now = absl::Now();
    phases_.push_back({std::string(name), absl::ToInt64Microseconds(now - last_)});
    last_ = now;
  }

 private:
  std::vector<ApplyPhase>& phases_;
  absl::Time last_ = absl::Now();
};

// `status` naming the audit row that records the attempt, in the message and
// as ErrorInfo metadata for clients.
absl::Status WithAuditId(const absl::Status& status, absl::string_view reason,
                         int64_t audit_id) {
  return WithErrorInfo(
      absl::Status(status.code(), absl::StrCat(status.message(), " (audit id ", audit_id, ")")),
      reason, {{"audit_id", absl::StrCat(audit_id)}});
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace

absl::StatusOr<ApplyAuditEntry> ApplyOperations::Apply(absl::string_view requested_by,
                                                       absl::string_view request_id) {
  absl::StatusOr<std::string> triggered_by = ValidateTriggeredBy(requested_by);
  if (!triggered_by.ok()) return triggered_by.status();
  const absl::Time requested = absl::Now();
  absl::StatusOr<std::unique_ptr<ApplyLock>> lock = store_.LockApply(options_.lock_wait);
  if (absl::IsAborted(lock.status())) {
    // It never ran, but it was asked for: the audit log still records it.
    absl::StatusOr<ApplyAuditEntry> rejected =
        store_.RecordRejectedApply(*triggered_by, host_.Describe(), request_id,
                                   absl::Now() - requested, lock.status().message());
    if (!rejected.ok()) return lock.status();
    return WithAuditId(lock.status(), "APPLY_NOT_STARTED", rejected->id);
  }
  if (!lock.ok()) return lock.status();

  absl::StatusOr<ApplyAuditEntry> opened =
      store_.OpenAudit(*triggered_by, host_.Describe(), request_id);
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
           {"users", absl::StrCat(entry.user_count)},
           {"duration_ms", absl::StrCat(entry.duration_ms)},
           {"error", entry.error_detail}});
  entry.phases.push_back({"audit", absl::ToInt64Microseconds(absl::Now() - closing)});
  if (on_finished_) on_finished_(entry);
  if (!status.ok()) {
    return WithAuditId(status, "APPLY_FAILED", entry.id);
  }
  return entry;
}

absl::Status ApplyOperations::Run(ApplyAuditEntry& entry) {
  PhaseClock clock(entry.phases);
  absl::StatusOr<std::vector<ProvisionedExtension>> extensions = store_.ReadProvisioning();
  if (!extensions.ok()) return Annotate(extensions.status(), "cannot read the users");
  clock.Mark("read");
  entry.user_count = static_cast<int>(extensions->size());
  absl::StatusOr<RenderedConfig> config = RenderAsteriskConfig(*extensions);
  if (!config.ok()) return Annotate(config.status(), "cannot render the configuration");
  entry.content_hash = config->content_hash;
  clock.Mark("render");
  const std::vector<FileWrite> files = {{options_.pjsip_path, config->pjsip},
                                        {options_.dialplan_path, config->dialplan}};

  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = host_.Open();
  if (!session.ok()) return session.status();
  clock.Mark("connect");
  Failpoint("apply.before_upload");
  absl::StatusOr<StagedFiles> staged =
      StageFiles(**session, files, RandomSuffix());
  if (!staged.ok()) {
    return Annotate(staged.status(), "the configuration was not written; the previous files are "
                                     "unchanged and Asterisk was not reloaded");
  }
  clock.Mark("upload");
  if (absl::Status renamed = CommitStagedFiles(**session, *staged, options_.file_group); !renamed.ok()) {
    return Annotate(renamed, "Asterisk was not reloaded");
  }
  clock.Mark("rename");
  for (const FileWrite& file : files) {
    entry.files.push_back(
        {file.path, Sha256Hex(file.content), static_cast<int64_t>(file.content.size())});
  }

  Failpoint("apply.before_reload");
  AsteriskCli cli(**session, options_.asterisk_program);
  AsteriskCli::ReloadReport reload = cli.Reload();
  entry.reload_output = reload.output;
  clock.Mark("reload");
  if (!reload.status.ok()) {
    const char* state =
        absl::IsUnavailable(reload.status)
            ? "the connection was lost during the reload, so whether Asterisk reloaded is "
              "unknown; apply again"
        : reload.pjsip_reloaded
            ? "PJSIP runs the new configuration but the dialplan does not: the PBX is in an "
              "inconsistent state"
            : "Asterisk did not reload; if it runs, it keeps its previous configuration and "
              "loads the new files when it next starts or reloads";
    return Annotate(reload.status, absl::StrCat("the new files are on disk but the reload "
                                                "failed; ", state));
  }

  absl::StatusOr<LiveState> live = cli.ReadLiveState();
  clock.Mark("verify");
  if (!live.ok()) {
    return Annotate(live.status(), "reloaded, but the live state could not be read to verify it");
  }
  const std::vector<std::string> differences =
      CompareLiveState(ExpectedObjectsFor(*extensions), *live);
  if (!differences.empty()) {
    entry.verification = absl::StrCat("mismatch: ", absl::StrJoin(differences, "; "));
    return absl::InternalError(absl::StrCat(
        "the live Asterisk does not match the written configuration, the PBX is in an "
        "inconsistent state: ",
        Summarize(differences)));
  }
  entry.verification = absl::StrCat("ok: ", live->endpoints.size(), " endpoints, ",
                                    live->aors.size(), " aors, ", live->auths.size(),
                                    " auths, ", live->dialplan.size(),
                                    " synergy-internal extensions match the database");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ApplyAuditEntry>> ApplyOperations::ListAudit(int limit) {
  if (limit < 0 || limit > kMaxAuditPage) {
    return InvalidFieldsError("invalid audit request",
                              {{"limit", absl::StrCat("must be between 0 and ", kMaxAuditPage)}});
  }
  return store_.ListAudit(limit == 0 ? kDefaultAuditPage : limit);
}

absl::StatusOr<ApplyStatus> ApplyOperations::GetStatus() {
  ApplyStatus status;
  absl::StatusOr<ApplyStore::LatestApplies> latest = store_.LatestAudits();
  if (!latest.ok()) return latest.status();
  status.last_apply = std::move(latest->any);
  status.last_successful_apply = std::move(latest->successful);
  absl::StatusOr<std::vector<ProvisionedExtension>> extensions = store_.ReadProvisioning();
  if (!extensions.ok()) return extensions.status();
  absl::StatusOr<RenderedConfig> config = RenderAsteriskConfig(*extensions);
  if (!config.ok()) return config.status();
  status.current_content_hash = config->content_hash;
  status.pending_changes = !status.last_successful_apply.has_value() ||
                           status.last_successful_apply->content_hash != config->content_hash;
  return status;
}

}  // namespace pbx
