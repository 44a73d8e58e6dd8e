#include "server/apply/drift_monitor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"

namespace pbx {
namespace {

// "FILE_CHANGED=1 UNEXPECTED_OBJECT=2", the kinds with findings only.
std::string CountsText(const std::map<std::string, int>& counts) {
  std::vector<std::string> parts;
  for (const auto& [kind, count] : counts) {
    if (count > 0) parts.push_back(absl::StrCat(kind, "=", count));
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, " ");
}

// "asterisk-1: none; asterisk-2: FILE_CHANGED=1": each host's findings.
std::string HostsText(const DriftCheckSummary& summary) {
  std::vector<std::string> parts;
  for (const HostDriftSummary& host : summary.hosts) {
    parts.push_back(absl::StrCat(host.name, ": ", CountsText(host.counts)));
  }
  return absl::StrJoin(parts, "; ");
}

bool SameState(const DriftCheckSummary& a, const DriftCheckSummary& b) {
  if (a.completed != b.completed || a.in_sync != b.in_sync || a.counts != b.counts ||
      a.hosts.size() != b.hosts.size()) {
    return false;
  }
  for (size_t i = 0; i < a.hosts.size(); ++i) {
    const HostDriftSummary& x = a.hosts[i];
    const HostDriftSummary& y = b.hosts[i];
    if (x.name != y.name || x.completed != y.completed || x.in_sync != y.in_sync ||
        x.counts != y.counts) {
      return false;
    }
  }
  return true;
}

// Every kind at 0.
std::map<std::string, int> NoFindings() {
  std::map<std::string, int> counts;
  for (DriftKind kind : kAllDriftKinds) counts[std::string(DriftKindName(kind))] = 0;
  return counts;
}

// A check that could not run at all (the database did not answer): every
// host unknown, so none in sync.
DriftCheckSummary NotRun(const std::vector<ApplyTarget>& targets, const absl::Status& status) {
  DriftCheckSummary summary;
  summary.error = std::string(status.message());
  summary.counts = NoFindings();
  for (const ApplyTarget& target : targets) {
    HostDriftSummary host;
    host.name = target.name;
    host.address = target.host->Describe();
    host.counts = summary.counts;
    host.error = summary.error;
    summary.hosts.push_back(std::move(host));
  }
  return summary;
}

}  // namespace

DriftMonitor::DriftMonitor(ApplyInspector& inspector, ApplyStore& store, absl::Duration interval,
                           std::string checker, Publish publish)
    : inspector_(inspector),
      store_(store),
      interval_(interval),
      checker_(std::move(checker)),
      publish_(std::move(publish)) {}

DriftMonitor::~DriftMonitor() { Stop(); }

void DriftMonitor::Tick() {
  absl::StatusOr<bool> claimed = store_.ClaimDriftCheck(interval_, checker_);
  if (claimed.ok() && *claimed) {
    // A host that cannot be read is not in sync (a HOST_UNREACHABLE
    // finding) while the others are checked as usual.
    absl::StatusOr<DriftStatus> drift = inspector_.DriftOfEachHost();
    DriftCheckSummary summary = drift.ok() ? SummarizeDrift(drift->hosts)
                                           : NotRun(inspector_.targets(), drift.status());
    summary.checked_by = checker_;
    if (absl::Status recorded = store_.RecordDriftCheck(summary); !recorded.ok()) {
      LogError("cannot record the drift check", {{"error", recorded.message()}});
    }
  }
  // Whoever checked, every process reports the newest stored result.
  absl::StatusOr<std::optional<DriftCheckSummary>> latest = store_.LatestDriftCheck();
  if (!latest.ok() || !latest->has_value()) return;
  const DriftCheckSummary& summary = **latest;
  if (!published_ || !SameState(*published_, summary)) {
    const bool first = !published_.has_value();
    // LogFields holds views: the text must outlive it.
    const std::string findings = CountsText(summary.counts);
    const std::string hosts = HostsText(summary);
    const LogFields fields = {{"in_sync", summary.in_sync ? "true" : "false"},
                              {"findings", findings},
                              {"hosts", hosts},
                              {"checked_by", summary.checked_by},
                              {"error", summary.error}};
    if (summary.completed && summary.in_sync) {
      LogInfo(first ? "the PBX is in sync" : "the PBX is back in sync", fields);
    } else if (summary.completed) {
      LogWarning("the PBX drifted from what the portal holds: see GET /apply/drift", fields);
    } else {
      LogWarning("the drift check could not run", fields);
    }
  }
  published_ = summary;
  if (publish_) publish_(summary);
}

void DriftMonitor::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    // The first check right away, so the gauges exist from the start.
    do {
      mu_.Unlock();
      Tick();
      mu_.Lock();
    } while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_));
  });
}

void DriftMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace pbx
