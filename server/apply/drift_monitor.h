#ifndef PBX_SERVER_APPLY_DRIFT_MONITOR_H_
#define PBX_SERVER_APPLY_DRIFT_MONITOR_H_

#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/apply/apply_inspection.h"
#include "server/core/drift.h"
#include "server/store/apply_store.h"

namespace pbx {

// The background drift check: every `interval` one server process (whichever
// claims the turn in the database) runs ApplyInspector::DriftOfEachHost and
// stores the summary, one part per host (a host that cannot be read is not in
// sync, with a HOST_UNREACHABLE finding); every process publishes the newest
// stored summary (its gauges, per host) and logs a warning when the state it
// publishes changes.
class DriftMonitor {
 public:
  using Publish = std::function<void(const DriftCheckSummary&)>;
  // `checker` names this process in the stored summary ("host:pid").
  DriftMonitor(ApplyInspector& inspector, ApplyStore& store, absl::Duration interval,
               std::string checker, Publish publish);
  DriftMonitor(const DriftMonitor&) = delete;
  DriftMonitor& operator=(const DriftMonitor&) = delete;
  ~DriftMonitor();

  // One turn: claim, check and store if it is ours; then publish the newest
  // stored summary. Tests call it directly.
  void Tick();

  // Tick every interval on a thread until Stop().
  void Start();
  void Stop();

 private:
  ApplyInspector& inspector_;
  ApplyStore& store_;
  const absl::Duration interval_;
  const std::string checker_;
  Publish publish_;
  // What was last published, to log changes only.
  std::optional<DriftCheckSummary> published_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pbx

#endif  // PBX_SERVER_APPLY_DRIFT_MONITOR_H_
