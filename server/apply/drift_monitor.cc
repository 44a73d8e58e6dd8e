#include "server/apply/drift_monitor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"

namespace pbx {
namespace {

// "FILE_CHANGED=1 UNEXPECTED_OBJECT=2", the kinds with findings only.
std::string CountsText(const DriftCheckSummary& summary) {
  std::vector<std::string> parts;
  for (const auto& [kind, count] : summary.counts) {
    if (count > 0) parts.push_back(absl::StrCat(kind, "=", count));
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, " ");
}

bool SameState(const DriftCheckSummary& a, const DriftCheckSummary& b) {
  return a.completed == b.completed && a.in_sync == b.in_sync && a.counts == b.counts;
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
    DriftCheckSummary summary;
    absl::StatusOr<DriftStatus> drift = inspector_.Drift();
    if (drift.ok()) {
      summary = SummarizeDrift(drift->report);
    } else {
      summary.error = std::string(drift.status().message());
    }
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
    const std::string findings = CountsText(summary);
    const LogFields fields = {{"in_sync", summary.in_sync ? "true" : "false"},
                              {"findings", findings},
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
