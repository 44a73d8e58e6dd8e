#include "server/apply/apply_inspection.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/asterisk/asterisk_cli.h"
#include "server/asterisk/host_inspection.h"
#include "server/core/live_state.h"

namespace pbx {
namespace {

InspectionRequest ReadWholeFiles(const ConfigPaths& paths) {
  InspectionRequest request;
  request.paths = {paths.pjsip, paths.dialplan};
  request.file_read = InspectionRequest::FileRead::kContent;
  return request;
}

// A file missing on the host diffs as an empty one.
absl::string_view TextOf(const HostFile& file) {
  return file.content.has_value() ? absl::string_view(*file.content) : absl::string_view();
}

}  // namespace

absl::StatusOr<ApplyPreview> ApplyInspector::Preview() {
  // The database and the host are read side by side: a preview costs the
  // slower of the two, not their sum.
  std::future<absl::StatusOr<std::shared_ptr<const ApplyPlan>>> planned =
      std::async(std::launch::async, [this] { return planner_.Plan(); });
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = host_.Open();
  absl::StatusOr<HostInspection> host =
      session.ok() ? InspectHost(**session, options_.execution.asterisk_program,
                                 ReadWholeFiles(options_.paths))
                   : absl::StatusOr<HostInspection>(session.status());
  absl::StatusOr<std::shared_ptr<const ApplyPlan>> planned_plan = planned.get();
  if (!planned_plan.ok()) return planned_plan.status();
  if (!host.ok()) return host.status();
  const ApplyPlan* plan = planned_plan->get();

  ApplyPreview preview;
  preview.user_count = static_cast<int>(plan->extensions.size());
  preview.content_hash = plan->content_hash;
  bool files_equal = true;
  for (size_t i = 0; i < plan->files.size(); ++i) {
    ApplyPreview::File file{plan->files[i].path, plan->file_sha256.at(i),
                            host->sha256.at(i)};
    files_equal = files_equal && file.host_sha256 == file.rendered_sha256;
    preview.files.push_back(std::move(file));
  }
  if (!files_equal) {
    // Equal files need no diff: the same bytes cut into the same extensions.
    preview.diff = DiffConfigTexts(*plan->lines, plan->files[0].content, plan->files[1].content,
                                   TextOf(host->files.at(0)), TextOf(host->files.at(1)));
    preview.would_write = true;
    preview.reason = "the files on the host differ from what the database renders to";
    return preview;
  }
  // Equal files: Apply writes only if Asterisk does not run them.
  absl::StatusOr<LiveState> live =
      AsteriskCli(**session, options_.execution.asterisk_program).ReadLiveState();
  if (!live.ok()) return AsteriskNotRunning(live.status());
  const std::vector<std::string> differences = CompareLiveState(plan->expected, *live);
  preview.would_write = !differences.empty();
  preview.reason =
      differences.empty()
          ? "the host already holds this configuration and Asterisk runs it: Apply would "
            "change nothing (force rewrites and reloads anyway)"
          : absl::StrCat("the files on the host are current but Asterisk does not run them (",
                         differences.size(), " differences, first: ", differences.front(),
                         "): Apply would rewrite and reload");
  return preview;
}

absl::StatusOr<DriftStatus> ApplyInspector::Drift() {
  struct FromDatabase {
    absl::StatusOr<ApplyStore::LatestApplies> latest;
    absl::StatusOr<std::shared_ptr<const ApplyPlan>> plan;
  };
  // The database and the host side by side, as in Preview.
  std::future<FromDatabase> read = std::async(std::launch::async, [this] {
    FromDatabase database{store_.LatestAudits(), absl::UnknownError("not read")};
    if (database.latest.ok()) {
      database.plan = planner_.Plan();
    }
    return database;
  });
  InspectionRequest request = ReadWholeFiles(options_.paths);
  request.live_state = true;
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = host_.Open();
  absl::StatusOr<HostInspection> host =
      session.ok() ? InspectHost(**session, options_.execution.asterisk_program, request)
                   : absl::StatusOr<HostInspection>(session.status());
  FromDatabase database = read.get();
  if (!database.latest.ok()) return database.latest.status();
  if (!database.plan.ok()) return database.plan.status();
  if (!host.ok()) return host.status();
  absl::StatusOr<ApplyStore::LatestApplies>& latest = database.latest;
  const ApplyPlan* plan = database.plan->get();

  DriftInputs inputs;
  inputs.last_successful_apply = std::move(latest->successful);
  inputs.host_files = std::move(host->files);
  inputs.live = std::move(*host->live);
  inputs.rendered_pjsip = plan->files[0].content;
  inputs.rendered_dialplan = plan->files[1].content;
  inputs.rendered_content_hash = plan->content_hash;
  return DriftStatus{FindDrift(inputs), absl::Now(), host_.Describe()};
}

}  // namespace pbx
