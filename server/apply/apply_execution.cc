#include "server/apply/apply_execution.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/core/error_info.h"
#include "absl/strings/str_join.h"
#include "server/asterisk/asterisk_cli.h"
#include "server/common/failpoint.h"
#include "server/core/live_state.h"
#include "server/core/sip_secret.h"

namespace pbx {
namespace {

constexpr int kMaxListedDifferences = 20;

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

// What the PBX runs after a reload that failed, as far as the report tells.
const char* StateAfterFailedReload(const AsteriskCli::ReloadReport& reload) {
  if (absl::IsUnavailable(reload.status)) {
    return "the connection was lost during the reload, so whether Asterisk reloaded is "
           "unknown; apply again";
  }
  if (reload.pjsip_reloaded) {
    return "PJSIP runs the new configuration but the dialplan does not: the PBX is in an "
           "inconsistent state";
  }
  return "Asterisk did not reload; if it runs, it keeps its previous configuration and "
         "loads the new files when it next starts or reloads";
}

}  // namespace

absl::Status ExecutePlan(AsteriskHostSession& session, const ApplyPlan& plan,
                         const ExecutionOptions& options, PhaseClock& clock,
                         ExecutionRecord& record) {
  Failpoint("apply.before_upload");
  // A random name part for the temporaries, so two portals never collide.
  absl::StatusOr<StagedFiles> staged = StageFiles(session, plan.files, RandomHex(8));
  if (!staged.ok()) {
    return Summarized(staged.status(), "the configuration was not written; the previous files "
                                       "are unchanged and Asterisk was not reloaded");
  }
  clock.Mark("upload");
  CommitOutcome committed = CommitStagedFiles(session, *staged, options.file_group);
  record.wrote = !committed.replaced.has_value() || *committed.replaced > 0;
  if (!committed.status.ok()) {
    return Summarized(committed.status, "Asterisk was not reloaded");
  }
  clock.Mark("rename");
  for (size_t i = 0; i < plan.files.size(); ++i) {
    record.files.push_back({plan.files[i].path, plan.file_sha256.at(i),
                            static_cast<int64_t>(plan.files[i].content.size())});
  }

  Failpoint("apply.before_reload");
  AsteriskCli cli(session, options.asterisk_program);
  AsteriskCli::ReloadReport reload = cli.Reload();
  record.reload_output = reload.output;
  clock.Mark("reload");
  if (!reload.status.ok()) {
    return Summarized(reload.status,
                      absl::StrCat("the new files are on disk but the reload failed; ",
                                   StateAfterFailedReload(reload)));
  }

  absl::StatusOr<LiveState> live = cli.ReadLiveState();
  clock.Mark("verify");
  if (!live.ok()) {
    return Summarized(live.status(),
                      "reloaded, but the live state could not be read to verify it");
  }
  const std::vector<std::string> differences = CompareLiveState(plan.expected, *live);
  if (!differences.empty()) {
    record.verification = absl::StrCat("mismatch: ", absl::StrJoin(differences, "; "));
    return absl::InternalError(absl::StrCat(
        "the live Asterisk does not match the written configuration, the PBX is in an "
        "inconsistent state: ",
        Summarize(differences)));
  }
  record.verification = absl::StrCat("ok: ", live->endpoints.size(), " endpoints, ",
                                     live->aors.size(), " aors, ", live->auths.size(), " auths, ",
                                     live->dialplan.size(),
                                     " synergy-internal extensions match the database");
  return absl::OkStatus();
}

}  // namespace pbx
