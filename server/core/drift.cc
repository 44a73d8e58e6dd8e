#include "server/core/drift.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/core/extension_pool.h"
#include "server/core/sha256.h"

namespace pbx {
namespace {

// Live ids of the portal's range that the files hold (`missing`) or not
// (`unexpected`).
void CompareObjects(absl::string_view object, DriftKind missing_kind,
                    const std::vector<std::string>& in_files,
                    const std::vector<std::string>& live, std::vector<DriftFinding>& missing,
                    std::vector<DriftFinding>& unexpected) {
  const std::set<std::string> want(in_files.begin(), in_files.end());
  std::set<std::string> have;
  for (const std::string& id : live) {
    if (IsPortalObjectId(id)) have.insert(id);
  }
  for (const std::string& id : want) {
    if (have.count(id) == 0) {
      missing.push_back({missing_kind, absl::StrCat(object, " ", id),
                         "in the file on the host, not loaded in Asterisk"});
    }
  }
  for (const std::string& id : have) {
    if (want.count(id) == 0) {
      unexpected.push_back({DriftKind::kUnexpectedObject, absl::StrCat(object, " ", id),
                            "loaded in Asterisk, not in the portal's files"});
    }
  }
}

std::vector<std::string> DialplanIds(const LiveState& live) {
  std::vector<std::string> ids;
  for (const auto& [extension, application] : live.dialplan) ids.push_back(extension);
  return ids;
}

}  // namespace

absl::string_view DriftKindName(DriftKind kind) {
  switch (kind) {
    case DriftKind::kFileChanged: return "FILE_CHANGED";
    case DriftKind::kFileMissing: return "FILE_MISSING";
    case DriftKind::kEndpointMissing: return "ENDPOINT_MISSING";
    case DriftKind::kAorMissing: return "AOR_MISSING";
    case DriftKind::kAuthMissing: return "AUTH_MISSING";
    case DriftKind::kDialplanMissing: return "DIALPLAN_MISSING";
    case DriftKind::kUnexpectedObject: return "UNEXPECTED_OBJECT";
    case DriftKind::kPendingChanges: return "PENDING_CHANGES";
    case DriftKind::kHostUnreachable: return "HOST_UNREACHABLE";
  }
  return "UNKNOWN";
}

int DriftReport::Count(DriftKind kind) const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(),
                                        [kind](const DriftFinding& f) { return f.kind == kind; }));
}

HostDriftSummary SummarizeDrift(const DriftReport& report) {
  HostDriftSummary summary;
  summary.completed = true;
  summary.in_sync = report.in_sync();
  for (DriftKind kind : kAllDriftKinds) {
    summary.counts[std::string(DriftKindName(kind))] = report.Count(kind);
  }
  return summary;
}

DriftCheckSummary SummarizeDrift(const std::vector<HostDriftReport>& hosts) {
  DriftCheckSummary summary;
  summary.completed = true;
  summary.in_sync = true;
  for (DriftKind kind : kAllDriftKinds) summary.counts[std::string(DriftKindName(kind))] = 0;
  std::vector<std::string> errors;
  for (const HostDriftReport& host : hosts) {
    HostDriftSummary one = SummarizeDrift(host.report);
    one.name = host.name;
    one.address = host.address;
    one.completed = host.error.empty();
    one.error = host.error;
    summary.completed = summary.completed && one.completed;
    summary.in_sync = summary.in_sync && one.in_sync;
    for (const auto& [kind, count] : one.counts) summary.counts[kind] += count;
    if (!one.completed) {
      errors.push_back(hosts.size() == 1 ? one.error : absl::StrCat(one.name, ": ", one.error));
    }
    summary.hosts.push_back(std::move(one));
  }
  summary.in_sync = summary.in_sync && summary.completed;
  summary.error = absl::StrJoin(errors, "; ");
  return summary;
}

DriftReport UnreachableHostReport(absl::string_view name, absl::string_view reason) {
  DriftReport report;
  report.findings.push_back(
      {DriftKind::kHostUnreachable, std::string(name), std::string(reason), std::string(name)});
  return report;
}

DriftReport CombineDriftReports(const std::vector<HostDriftReport>& hosts) {
  DriftReport combined;
  int furthest = -1;
  for (const HostDriftReport& host : hosts) {
    const PendingCounts& pending = host.report.pending;
    const int behind = pending.added + pending.removed + pending.changed;
    if (host.report.Count(DriftKind::kPendingChanges) > 0 && behind > furthest) {
      furthest = behind;
      combined.pending = pending;
    }
  }
  for (DriftKind kind : kAllDriftKinds) {
    for (const HostDriftReport& host : hosts) {
      for (const DriftFinding& finding : host.report.findings) {
        if (finding.kind == kind) combined.findings.push_back(finding);
      }
    }
  }
  return combined;
}

DriftReport FindDrift(const DriftInputs& inputs) {
  DriftReport report;
  std::vector<DriftFinding> files, missing, unexpected, pending;

  // The host's files against the last successful Apply.
  std::map<std::string, std::string> applied;  // path -> sha256
  if (inputs.last_successful_apply) {
    for (const ConfigFileRecord& file : inputs.last_successful_apply->files) {
      applied[file.path] = file.sha256;
    }
  }
  for (const HostFile& file : inputs.host_files) {
    auto it = applied.find(file.path);
    if (!file.content) {
      if (it != applied.end()) {
        files.push_back({DriftKind::kFileMissing, file.path,
                         "the last successful Apply wrote it; it is gone from the host"});
      }
      continue;
    }
    if (it != applied.end() && Sha256Hex(*file.content) != it->second) {
      files.push_back({DriftKind::kFileChanged, file.path,
                       absl::StrCat("sha256 ", Sha256Hex(*file.content),
                                    " on the host, the last successful Apply wrote ",
                                    it->second)});
    }
  }

  // The live Asterisk against the host's files, kind by kind, only where the
  // file exists (a missing one is a finding already, and everything it held
  // would be reported again).
  const HostFile* pjsip = inputs.host_files.size() > 0 ? &inputs.host_files[0] : nullptr;
  const HostFile* dialplan = inputs.host_files.size() > 1 ? &inputs.host_files[1] : nullptr;
  const bool have_pjsip = pjsip != nullptr && pjsip->content.has_value();
  const bool have_dialplan = dialplan != nullptr && dialplan->content.has_value();
  const ConfigContents on_host = ParseConfigFiles(have_pjsip ? *pjsip->content : "",
                                                  have_dialplan ? *dialplan->content : "");
  if (have_pjsip) {
    CompareObjects("endpoint", DriftKind::kEndpointMissing, on_host.objects.endpoints,
                   inputs.live.endpoints, missing, unexpected);
    CompareObjects("aor", DriftKind::kAorMissing, on_host.objects.aors, inputs.live.aors,
                   missing, unexpected);
    CompareObjects("auth", DriftKind::kAuthMissing, on_host.objects.auths, inputs.live.auths,
                   missing, unexpected);
  }
  if (have_dialplan) {
    CompareObjects("dialplan", DriftKind::kDialplanMissing,
                   on_host.objects.dialplan_extensions, DialplanIds(inputs.live), missing,
                   unexpected);
  }

  // The database against the last successful Apply.
  const bool pending_changes =
      !inputs.last_successful_apply ||
      inputs.last_successful_apply->content_hash != inputs.rendered_content_hash;
  if (pending_changes) {
    const ConfigDiff diff =
        DiffConfigTexts(inputs.rendered_pjsip, inputs.rendered_dialplan,
                        have_pjsip ? *pjsip->content : "", have_dialplan ? *dialplan->content : "");
    report.pending = {static_cast<int>(diff.added.size()), static_cast<int>(diff.removed.size()),
                      static_cast<int>(diff.changed.size())};
    pending.push_back(
        {DriftKind::kPendingChanges, "database",
         absl::StrCat(inputs.last_successful_apply ? "users changed since the last successful Apply"
                                                   : "nothing was ever applied",
                      ": ", report.pending.added, " extensions to add, ", report.pending.removed,
                      " to remove, ", report.pending.changed,
                      " to change against the files on the host")});
  }

  for (DriftKind kind : kAllDriftKinds) {
    for (auto* group : {&files, &missing, &unexpected, &pending}) {
      for (DriftFinding& finding : *group) {
        if (finding.kind == kind) report.findings.push_back(std::move(finding));
      }
    }
  }
  return report;
}

}  // namespace pbx
