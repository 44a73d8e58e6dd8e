#include "server/observability/portal_metrics.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace pbx {
namespace {

// From a cache hit (well under a millisecond) to the gateway's patience.
const prometheus::Histogram::BucketBoundaries kRpcBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
// A whole Apply: SSH, two uploads and two reloads take seconds; waiting for
// another Apply's lock can take up to PBX_APPLY_LOCK_TIMEOUT_S (120 s).
const prometheus::Histogram::BucketBoundaries kApplyBuckets = {
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
// One phase: rendering takes microseconds, a reload can take tens of seconds.
const prometheus::Histogram::BucketBoundaries kPhaseBuckets = {
    0.0001, 0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

// "/pbx.v1.UserService/CreateUser" -> {"pbx.v1.UserService", "CreateUser"}.
// A drift gauge's labels for the host `name`; none for "" (a check stored
// before hosts were, published as such a server did).
std::map<std::string, std::string> HostLabels(const std::string& name) {
  if (name.empty()) return {};
  return {{"host", name}};
}

std::map<std::string, std::string> FindingLabels(const std::string& host, const std::string& kind) {
  std::map<std::string, std::string> labels = HostLabels(host);
  labels["kind"] = kind;
  return labels;
}

std::pair<std::string, std::string> SplitMethod(absl::string_view full_method) {
  full_method = absl::StripPrefix(full_method, "/");
  std::pair<std::string, std::string> parts =
      absl::StrSplit(full_method, absl::MaxSplits('/', 1));
  if (parts.second.empty()) return {"unknown", std::string(full_method)};
  return parts;
}

}  // namespace

PortalMetrics::PortalMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      rpcs_handled_(prometheus::BuildCounter()
                        .Name("pbx_grpc_server_handled_total")
                        .Help("gRPC calls completed, by method and status code")
                        .Register(*registry_)),
      rpc_seconds_(prometheus::BuildHistogram()
                       .Name("pbx_grpc_server_handling_seconds")
                       .Help("Time from receiving a gRPC call to sending its status")
                       .Register(*registry_)),
      applies_(prometheus::BuildCounter()
                   .Name("pbx_apply_total")
                   .Help("Applies that ran (not those refused for the Apply lock), by outcome")
                   .Register(*registry_)),
      apply_seconds_(prometheus::BuildHistogram()
                         .Name("pbx_apply_duration_seconds")
                         .Help("Duration of an Apply as audited, by outcome")
                         .Register(*registry_)),
      apply_phase_seconds_(prometheus::BuildHistogram()
                               .Name("pbx_apply_phase_duration_seconds")
                               .Help("Duration of each Apply phase (read, render, connect, "
                                     "connect, inspect, upload, rename, reload, verify, audit), "
                                     "by outcome")
                               .Register(*registry_)),
      in_sync_(prometheus::BuildGauge()
                   .Name("pbx_asterisk_in_sync")
                   .Help("1 when the last drift check found the host's live Asterisk, its files "
                         "and the database in agreement, 0 otherwise (or when it could not read "
                         "the host), by host")
                   .Register(*registry_)),
      drift_findings_(prometheus::BuildGauge()
                          .Name("pbx_drift_findings")
                          .Help("Findings of the last drift check, by host and kind "
                                "(GET /apply/drift)")
                          .Register(*registry_)),
      drift_checked_at_(prometheus::BuildGauge()
                            .Name("pbx_drift_check_timestamp_seconds")
                            .Help("When the last drift check ran (Unix time)")
                            .Register(*registry_)),
      drift_check_success_(prometheus::BuildGauge()
                               .Name("pbx_drift_check_success")
                               .Help("1 when the last drift check could read the host and the "
                                     "database, 0 when it could not, by host")
                               .Register(*registry_)) {
  // Both outcomes from 0, so an alert on the failure counter's increase sees
  // the first failure after a start (a series born at 1 shows no increase).
  for (ApplyOutcome outcome : {ApplyOutcome::kSuccess, ApplyOutcome::kFailure}) {
    applies_.Add({{"outcome", std::string(ApplyOutcomeName(outcome))}});
  }
}

void PortalMetrics::RecordRpc(absl::string_view full_method, absl::StatusCode code,
                              absl::Duration latency) {
  auto [service, method] = SplitMethod(full_method);
  // Family::Add returns the existing child when the labels are known.
  rpcs_handled_
      .Add({{"grpc_service", service},
            {"grpc_method", method},
            {"grpc_code", absl::StatusCodeToString(code)}})
      .Increment();
  rpc_seconds_.Add({{"grpc_service", service}, {"grpc_method", method}}, kRpcBuckets)
      .Observe(absl::ToDoubleSeconds(latency));
}

void PortalMetrics::RecordApply(const ApplyAuditEntry& entry) {
  const std::string outcome(ApplyOutcomeName(entry.outcome));
  applies_.Add({{"outcome", outcome}}).Increment();
  apply_seconds_.Add({{"outcome", outcome}}, kApplyBuckets)
      .Observe(static_cast<double>(entry.duration_ms) / 1e3);
  for (const ApplyPhase& phase : entry.phases) {
    apply_phase_seconds_.Add({{"phase", phase.name}, {"outcome", outcome}}, kPhaseBuckets)
        .Observe(static_cast<double>(phase.duration_us) / 1e6);
  }
}

void PortalMetrics::RecordDriftCheck(const DriftCheckSummary& summary) {
  // One check covers every host at once: its time has no host label.
  drift_checked_at_.Add({}).Set(absl::ToDoubleSeconds(summary.checked_at - absl::UnixEpoch()));
  std::vector<HostDriftSummary> hosts = summary.hosts;
  if (hosts.empty()) {
    // A check stored before hosts were: the whole check, without the host
    // label, as such a server published it.
    hosts.push_back({"", "", summary.completed, summary.in_sync, summary.counts, summary.error});
  }
  absl::MutexLock lock(&drift_mu_);
  std::set<std::string> published;
  for (const HostDriftSummary& host : hosts) {
    const std::map<std::string, std::string> labels = HostLabels(host.name);
    in_sync_.Add(labels).Set(host.completed && host.in_sync ? 1 : 0);
    drift_check_success_.Add(labels).Set(host.completed ? 1 : 0);
    for (DriftKind kind : kAllDriftKinds) {
      const std::string name(DriftKindName(kind));
      auto it = host.counts.find(name);
      drift_findings_.Add(FindingLabels(host.name, name))
          .Set(it == host.counts.end() ? 0 : it->second);
    }
    published.insert(host.name);
  }
  // A host no longer in the newest check (the configuration changed) stops
  // being reported rather than keeping its last values.
  for (const std::string& gone : drift_hosts_) {
    if (published.count(gone) > 0) continue;
    in_sync_.Remove(&in_sync_.Add(HostLabels(gone)));
    drift_check_success_.Remove(&drift_check_success_.Add(HostLabels(gone)));
    for (DriftKind kind : kAllDriftKinds) {
      drift_findings_.Remove(
          &drift_findings_.Add(FindingLabels(gone, std::string(DriftKindName(kind)))));
    }
  }
  drift_hosts_ = std::move(published);
}

}  // namespace pbx
