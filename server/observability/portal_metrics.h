#ifndef PBX_SERVER_OBSERVABILITY_PORTAL_METRICS_H_
#define PBX_SERVER_OBSERVABILITY_PORTAL_METRICS_H_

#include <memory>
#include <set>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/apply_audit.h"
#include "server/core/drift.h"

namespace pbx {

// The metrics the server records as things happen: gRPC calls and Applies.
// Values that are state rather than events (pool use, extensions) are read
// at scrape time instead, see StateCollector. Thread-safe.
class PortalMetrics {
 public:
  PortalMetrics();
  PortalMetrics(const PortalMetrics&) = delete;
  PortalMetrics& operator=(const PortalMetrics&) = delete;

  // `full_method` as gRPC names it: "/pbx.v1.UserService/CreateUser".
  void RecordRpc(absl::string_view full_method, absl::StatusCode code,
                 absl::Duration latency);

  // One Apply that ran, from its closed audit entry.
  void RecordApply(const ApplyAuditEntry& entry);

  // The newest background drift check (whichever process ran it): in sync,
  // success and findings per host (label `host`, the host's name), the
  // check's time once. The drift gauges exist from the first one on.
  void RecordDriftCheck(const DriftCheckSummary& summary);

  // What the exposer serves and tests serialize.
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  const std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& rpcs_handled_;
  prometheus::Family<prometheus::Histogram>& rpc_seconds_;
  prometheus::Family<prometheus::Counter>& applies_;
  prometheus::Family<prometheus::Histogram>& apply_seconds_;
  prometheus::Family<prometheus::Histogram>& apply_phase_seconds_;
  prometheus::Family<prometheus::Gauge>& in_sync_;
  prometheus::Family<prometheus::Gauge>& drift_findings_;
  prometheus::Family<prometheus::Gauge>& drift_checked_at_;
  prometheus::Family<prometheus::Gauge>& drift_check_success_;
  absl::Mutex drift_mu_;
  // The hosts the drift gauges hold.
  std::set<std::string> drift_hosts_ ABSL_GUARDED_BY(drift_mu_);
};

}  // namespace pbx

#endif  // PBX_SERVER_OBSERVABILITY_PORTAL_METRICS_H_
