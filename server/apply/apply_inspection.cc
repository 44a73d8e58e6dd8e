#include "server/apply/apply_inspection.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/asterisk/asterisk_cli.h"
#include "server/asterisk/host_inspection.h"
#include "server/common/side_by_side.h"
#include "server/core/error_info.h"
#include "server/core/live_state.h"

namespace pbx {
namespace {

constexpr absl::string_view kFilesDiffer =
    "the files on the host differ from what the database renders to";

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

// When no host could be read and all failed the same way: that failure, one
// host's as it is, several hosts' each after its name. Otherwise OK, and each
// failed host is reported on its own beside those that were read.
absl::Status EveryHostFailedAlike(
    const std::vector<std::pair<std::string, absl::Status>>& hosts) {
  std::vector<std::string> details, summaries;
  for (const auto& [name, status] : hosts) {
    if (status.ok() || status.code() != hosts.front().second.code()) return absl::OkStatus();
    details.push_back(absl::StrCat(name, ": ", status.message()));
    summaries.push_back(absl::StrCat(name, ": ", PublicMessage(status)));
  }
  if (hosts.size() == 1) return hosts.front().second;
  return Summarized(absl::Status(hosts.front().second.code(), absl::StrJoin(details, "; ")),
                    absl::StrJoin(summaries, "; "));
}

// The union of the hosts' diffs: every extension added, removed or changed
// on any host, in ascending order; a change's aspects over every host.
ConfigDiff UnionOfDiffs(const std::vector<HostPreview>& hosts) {
  std::set<int> added, removed;
  std::map<int, std::vector<std::string>> changed;
  for (const HostPreview& host : hosts) {
    added.insert(host.diff.added.begin(), host.diff.added.end());
    removed.insert(host.diff.removed.begin(), host.diff.removed.end());
    for (const ExtensionChange& change : host.diff.changed) {
      std::vector<std::string>& aspects = changed[change.number];
      for (const std::string& aspect : change.aspects) {
        if (std::find(aspects.begin(), aspects.end(), aspect) == aspects.end()) {
          aspects.push_back(aspect);
        }
      }
    }
  }
  ConfigDiff diff;
  diff.added.assign(added.begin(), added.end());
  diff.removed.assign(removed.begin(), removed.end());
  for (auto& [number, aspects] : changed) diff.changed.push_back({number, std::move(aspects)});
  return diff;
}

// Each file over every host: its host_sha256 only when every host was read
// and holds the same bytes; differing when it differs on any host.
std::vector<PreviewFile> FilesOverHosts(const std::vector<HostPreview>& hosts) {
  std::vector<PreviewFile> files = hosts.front().files;
  for (size_t i = 0; i < files.size(); ++i) {
    for (const HostPreview& host : hosts) {
      const PreviewFile& file = host.files.at(i);
      files[i].differs = files[i].differs || file.differs;
      if (!host.error_detail.empty() || file.host_sha256 != files[i].host_sha256) {
        files[i].host_sha256.reset();
      }
    }
  }
  return files;
}

// "asterisk-2: the files on the host differ ...; asterisk-1: in sync": the
// hosts an Apply would write to first, with why.
std::string ReasonOverHosts(const std::vector<HostPreview>& hosts) {
  std::vector<std::string> writing, in_sync;
  for (const HostPreview& host : hosts) {
    if (host.would_write) {
      writing.push_back(absl::StrCat(host.name, ": ", host.reason));
    } else {
      in_sync.push_back(absl::StrCat(host.name, ": in sync"));
    }
  }
  writing.insert(writing.end(), in_sync.begin(), in_sync.end());
  return absl::StrJoin(writing, "; ");
}

}  // namespace

struct ApplyInspector::PreviewRun {
  HostPreview preview;
  absl::Status status;
};

struct ApplyInspector::FromDatabase {
  absl::StatusOr<ApplyStore::LatestApplies> latest;
  absl::StatusOr<std::shared_ptr<const ApplyPlan>> plan;
};

struct ApplyInspector::DriftRun {
  HostDriftReport drift;
  absl::Status status;
};

ApplyInspector::ApplyInspector(UserStore& users, ApplyStore& store,
                               std::vector<ApplyTarget> targets, ApplyOptions options)
    : users_(users), store_(store), targets_(std::move(targets)), options_(std::move(options)) {
  assert(!targets_.empty());
}

void ApplyInspector::PreviewHost(const ApplyTarget& target, const SharedPlan& planned,
                                 PreviewRun& run) {
  HostPreview& preview = run.preview;
  preview.name = target.name;
  preview.address = target.host->Describe();
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = target.host->Open();
  absl::StatusOr<HostInspection> host =
      session.ok() ? InspectHost(**session, options_.execution.asterisk_program,
                                 ReadWholeFiles(options_.paths))
                   : absl::StatusOr<HostInspection>(session.status());
  const absl::StatusOr<std::shared_ptr<const ApplyPlan>>& planned_plan = planned.get();
  // Preview reports a failed read or render once, for every host.
  if (!planned_plan.ok()) return;
  const ApplyPlan* plan = planned_plan->get();
  // An Apply would try a host it cannot read: counted as differing, unless
  // its files were read (and matched) before its daemon failed to answer.
  auto unreadable = [&](absl::Status status) {
    for (size_t i = preview.files.size(); i < plan->files.size(); ++i) {
      preview.files.push_back({plan->files[i].path, plan->file_sha256.at(i), std::nullopt, true});
    }
    preview.would_write = true;
    preview.error_detail = PublicMessage(status);
    preview.reason = absl::StrCat("the host could not be read (", preview.error_detail,
                                  "): an Apply would try to write and reload it");
    run.status = std::move(status);
  };
  if (!host.ok()) return unreadable(host.status());

  bool files_equal = true;
  for (size_t i = 0; i < plan->files.size(); ++i) {
    PreviewFile file{plan->files[i].path, plan->file_sha256.at(i), host->sha256.at(i)};
    file.differs = file.host_sha256 != file.rendered_sha256;
    files_equal = files_equal && !file.differs;
    preview.files.push_back(std::move(file));
  }
  if (!files_equal) {
    // Equal files need no diff: the same bytes cut into the same extensions.
    preview.diff = DiffConfigTexts(*plan->lines, plan->files[0].content, plan->files[1].content,
                                   TextOf(host->files.at(0)), TextOf(host->files.at(1)));
    preview.would_write = true;
    preview.reason = std::string(kFilesDiffer);
    return;
  }
  // Equal files: Apply writes only if Asterisk does not run them.
  absl::StatusOr<LiveState> live =
      AsteriskCli(**session, options_.execution.asterisk_program).ReadLiveState();
  if (!live.ok()) return unreadable(AsteriskNotRunning(live.status()));
  const std::vector<std::string> differences = CompareLiveState(plan->expected, *live);
  preview.would_write = !differences.empty();
  preview.reason =
      differences.empty()
          ? "the host already holds this configuration and Asterisk runs it: Apply would "
            "change nothing (force rewrites and reloads anyway)"
          : absl::StrCat("the files on the host are current but Asterisk does not run them (",
                         differences.size(), " differences, first: ", differences.front(),
                         "): Apply would rewrite and reload");
}

absl::StatusOr<ApplyPreview> ApplyInspector::Preview() {
  // The database and every host are read side by side: a preview costs the
  // slowest of them, not their sum.
  const SharedPlan planned =
      std::async(std::launch::async, [this] { return planner_.Plan(); }).share();
  std::vector<PreviewRun> runs(targets_.size());
  RunSideBySide(targets_.size(), [&](size_t i) { PreviewHost(targets_[i], planned, runs[i]); });
  const absl::StatusOr<std::shared_ptr<const ApplyPlan>>& plan = planned.get();
  if (!plan.ok()) return plan.status();
  std::vector<std::pair<std::string, absl::Status>> statuses;
  for (const PreviewRun& run : runs) statuses.emplace_back(run.preview.name, run.status);
  if (absl::Status failed = EveryHostFailedAlike(statuses); !failed.ok()) return failed;

  ApplyPreview preview;
  preview.user_count = static_cast<int>((*plan)->extensions.size());
  preview.content_hash = (*plan)->content_hash;
  for (PreviewRun& run : runs) preview.hosts.push_back(std::move(run.preview));
  if (preview.hosts.size() == 1) {
    const HostPreview& only = preview.hosts.front();
    preview.diff = only.diff;
    preview.files = only.files;
    preview.would_write = only.would_write;
    preview.reason = only.reason;
    return preview;
  }
  preview.diff = UnionOfDiffs(preview.hosts);
  preview.files = FilesOverHosts(preview.hosts);
  preview.would_write = std::any_of(preview.hosts.begin(), preview.hosts.end(),
                                    [](const HostPreview& host) { return host.would_write; });
  preview.reason = ReasonOverHosts(preview.hosts);
  return preview;
}

void ApplyInspector::DriftOnHost(const ApplyTarget& target,
                                 const std::shared_future<FromDatabase>& read, DriftRun& run) {
  run.drift.name = target.name;
  run.drift.address = target.host->Describe();
  InspectionRequest request = ReadWholeFiles(options_.paths);
  request.live_state = true;
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = target.host->Open();
  absl::StatusOr<HostInspection> host =
      session.ok() ? InspectHost(**session, options_.execution.asterisk_program, request)
                   : absl::StatusOr<HostInspection>(session.status());
  const FromDatabase& database = read.get();
  // A failed database read is reported once, for every host.
  if (!database.latest.ok() || !database.plan.ok()) return;
  if (!host.ok()) {
    run.status = host.status();
    return;
  }
  const ApplyPlan* plan = database.plan->get();
  DriftInputs inputs;
  inputs.last_successful_apply = database.latest->successful;
  inputs.host_files = std::move(host->files);
  inputs.live = std::move(*host->live);
  inputs.rendered_pjsip = plan->files[0].content;
  inputs.rendered_dialplan = plan->files[1].content;
  inputs.rendered_content_hash = plan->content_hash;
  run.drift.report = FindDrift(inputs);
  for (DriftFinding& finding : run.drift.report.findings) finding.host = target.name;
}

absl::StatusOr<DriftStatus> ApplyInspector::CheckDrift(bool fail_when_every_host_failed) {
  // The database and every host side by side, as in Preview.
  const std::shared_future<FromDatabase> read =
      std::async(std::launch::async, [this] {
        FromDatabase database{store_.LatestAudits(), absl::UnknownError("not read")};
        if (database.latest.ok()) {
          database.plan = planner_.Plan();
        }
        return database;
      }).share();
  std::vector<DriftRun> runs(targets_.size());
  RunSideBySide(targets_.size(), [&](size_t i) { DriftOnHost(targets_[i], read, runs[i]); });
  const FromDatabase& database = read.get();
  if (!database.latest.ok()) return database.latest.status();
  if (!database.plan.ok()) return database.plan.status();
  if (fail_when_every_host_failed) {
    std::vector<std::pair<std::string, absl::Status>> statuses;
    for (const DriftRun& run : runs) statuses.emplace_back(run.drift.name, run.status);
    if (absl::Status failed = EveryHostFailedAlike(statuses); !failed.ok()) return failed;
  }
  DriftStatus status;
  for (DriftRun& run : runs) {
    if (!run.status.ok()) {
      run.drift.error = PublicMessage(run.status);
      run.drift.report = UnreachableHostReport(run.drift.name, run.drift.error);
    }
    status.hosts.push_back(std::move(run.drift));
  }
  status.report = CombineDriftReports(status.hosts);
  status.checked_at = absl::Now();
  status.asterisk_host = DescribeTargets(targets_);
  return status;
}

absl::StatusOr<DriftStatus> ApplyInspector::Drift() { return CheckDrift(true); }

absl::StatusOr<DriftStatus> ApplyInspector::DriftOfEachHost() { return CheckDrift(false); }

}  // namespace pbx
