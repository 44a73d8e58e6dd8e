#include "server/observability/portal_metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/exposition.h"

namespace pbx {
namespace {

using testing::Exposition;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(PortalMetrics, CountsRpcsByMethodAndCode) {
  PortalMetrics metrics;
  metrics.RecordRpc("/pbx.v1.UserService/CreateUser", absl::StatusCode::kOk,
                    absl::Milliseconds(3));
  metrics.RecordRpc("/pbx.v1.UserService/CreateUser", absl::StatusCode::kOk,
                    absl::Milliseconds(7));
  metrics.RecordRpc("/pbx.v1.UserService/CreateUser", absl::StatusCode::kAlreadyExists,
                    absl::Milliseconds(2));
  metrics.RecordRpc("/pbx.v1.UserService/GetUser", absl::StatusCode::kNotFound,
                    absl::Microseconds(300));

  const std::string text = Exposition(*metrics.registry());
  EXPECT_THAT(text, HasSubstr("# TYPE pbx_grpc_server_handled_total counter"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"OK\",grpc_method="
                              "\"CreateUser\",grpc_service=\"pbx.v1.UserService\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"ALREADY_EXISTS\","
                              "grpc_method=\"CreateUser\",grpc_service=\"pbx.v1.UserService\"}"
                              " 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"NOT_FOUND\","
                              "grpc_method=\"GetUser\",grpc_service=\"pbx.v1.UserService\"} 1\n"));
  // One histogram per method, whatever the code.
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handling_seconds_count{grpc_method=\"CreateUser\","
                              "grpc_service=\"pbx.v1.UserService\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handling_seconds_sum{grpc_method=\"CreateUser\","
                              "grpc_service=\"pbx.v1.UserService\"} 0.012\n"));
  // 0.3 ms lands in the lowest bucket (0.5 ms), 2 ms not below 2.5 ms.
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handling_seconds_bucket{grpc_method=\"GetUser\","
                              "grpc_service=\"pbx.v1.UserService\",le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handling_seconds_bucket{grpc_method=\"CreateUser\","
                              "grpc_service=\"pbx.v1.UserService\",le=\"0.0025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handling_seconds_bucket{grpc_method=\"CreateUser\","
                              "grpc_service=\"pbx.v1.UserService\",le=\"10\"} 3\n"));
}

TEST(PortalMetrics, AMethodNameWithoutServiceIsKeptWhole) {
  PortalMetrics metrics;
  metrics.RecordRpc("unknown", absl::StatusCode::kUnimplemented, absl::Milliseconds(1));
  EXPECT_THAT(Exposition(*metrics.registry()),
              HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"UNIMPLEMENTED\","
                        "grpc_method=\"unknown\",grpc_service=\"unknown\"} 1\n"));
}

ApplyAuditEntry FinishedApply(ApplyOutcome outcome, int64_t duration_ms) {
  ApplyAuditEntry entry;
  entry.outcome = outcome;
  entry.duration_ms = duration_ms;
  return entry;
}

TEST(PortalMetrics, RecordsAppliesByOutcomeAndEveryPhase) {
  PortalMetrics metrics;
  ApplyAuditEntry success = FinishedApply(ApplyOutcome::kSuccess, 1500);
  success.phases = {{"read", 2000},    {"render", 50},      {"connect", 300000},
                    {"upload", 40000}, {"rename", 20000},   {"reload", 900000},
                    {"verify", 200000}, {"audit", 3000}};
  metrics.RecordApply(success);
  ApplyAuditEntry failure = FinishedApply(ApplyOutcome::kFailure, 5200);
  failure.phases = {{"read", 1000}, {"render", 40}, {"audit", 2000}};  // connect failed
  metrics.RecordApply(failure);

  const std::string text = Exposition(*metrics.registry());
  EXPECT_THAT(text, HasSubstr("pbx_apply_total{outcome=\"success\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_apply_total{outcome=\"failure\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_apply_duration_seconds_sum{outcome=\"success\"} 1.5\n"));
  EXPECT_THAT(text,
              HasSubstr("pbx_apply_duration_seconds_bucket{outcome=\"success\",le=\"1\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("pbx_apply_duration_seconds_bucket{outcome=\"success\",le=\"2.5\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_apply_duration_seconds_count{outcome=\"failure\"} 1\n"));
  for (const char* phase :
       {"read", "render", "connect", "upload", "rename", "reload", "verify", "audit"}) {
    EXPECT_THAT(text, HasSubstr(std::string("pbx_apply_phase_duration_seconds_count{"
                                            "outcome=\"success\",phase=\"") +
                                phase + "\"} 1\n"))
        << phase;
  }
  EXPECT_THAT(text, HasSubstr("pbx_apply_phase_duration_seconds_sum{outcome=\"success\","
                              "phase=\"reload\"} 0.9\n"));
  EXPECT_THAT(text, HasSubstr("pbx_apply_phase_duration_seconds_count{outcome=\"failure\","
                              "phase=\"render\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("outcome=\"failure\",phase=\"connect\"")));
}

TEST(PortalMetrics, ApplyCountersStartAtZeroSoTheFirstFailureIsAnIncrease) {
  PortalMetrics metrics;
  const std::string text = Exposition(*metrics.registry());
  EXPECT_THAT(text, HasSubstr("pbx_apply_total{outcome=\"failure\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("pbx_apply_total{outcome=\"success\"} 0\n"));
}

TEST(PortalMetrics, DriftGaugesAppearWithTheFirstCheckAndFollowTheNewest) {
  PortalMetrics metrics;
  EXPECT_THAT(Exposition(*metrics.registry()), Not(HasSubstr("pbx_asterisk_in_sync ")));

  DriftCheckSummary drifted;
  drifted.completed = true;
  drifted.in_sync = false;
  drifted.checked_at = absl::FromUnixSeconds(1700000000);
  drifted.counts = {{"FILE_CHANGED", 1}, {"UNEXPECTED_OBJECT", 3}};
  metrics.RecordDriftCheck(drifted);
  std::string text = Exposition(*metrics.registry());
  EXPECT_THAT(text, HasSubstr("pbx_asterisk_in_sync 0\n"));
  EXPECT_THAT(text, HasSubstr("pbx_drift_check_success 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_drift_check_timestamp_seconds 1700000000\n"));
  EXPECT_THAT(text, HasSubstr("pbx_drift_findings{kind=\"UNEXPECTED_OBJECT\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("pbx_drift_findings{kind=\"FILE_CHANGED\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_drift_findings{kind=\"PENDING_CHANGES\"} 0\n"))
      << "every kind is present";

  DriftCheckSummary in_sync;
  in_sync.completed = true;
  in_sync.in_sync = true;
  metrics.RecordDriftCheck(in_sync);
  text = Exposition(*metrics.registry());
  EXPECT_THAT(text, HasSubstr("pbx_asterisk_in_sync 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_drift_findings{kind=\"UNEXPECTED_OBJECT\"} 0\n"));

  DriftCheckSummary failed;  // could not check: not in sync, not a success
  metrics.RecordDriftCheck(failed);
  text = Exposition(*metrics.registry());
  EXPECT_THAT(text, HasSubstr("pbx_asterisk_in_sync 0\n"));
  EXPECT_THAT(text, HasSubstr("pbx_drift_check_success 0\n"));
}

TEST(PortalMetrics, DriftGaugesArePerHost) {
  PortalMetrics metrics;
  DriftCheckSummary check;
  check.checked_at = absl::FromUnixSeconds(1700000000);
  HostDriftSummary one{"asterisk-1", "ssh://a", true, true, {{"FILE_CHANGED", 0}}, ""};
  HostDriftSummary two{"asterisk-2", "ssh://b", true, false, {{"FILE_CHANGED", 2}}, ""};
  check.hosts = {one, two};
  metrics.RecordDriftCheck(check);
  std::string text = Exposition(*metrics.registry());
  EXPECT_THAT(text, HasSubstr("pbx_asterisk_in_sync{host=\"asterisk-1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_asterisk_in_sync{host=\"asterisk-2\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("pbx_drift_check_success{host=\"asterisk-2\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("pbx_drift_findings{host=\"asterisk-2\",kind=\"FILE_CHANGED\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("pbx_drift_findings{host=\"asterisk-1\",kind=\"HOST_UNREACHABLE\"} 0\n"))
      << "every kind is present for every host";
  EXPECT_THAT(text, HasSubstr("pbx_drift_check_timestamp_seconds 1700000000\n"))
      << "one time per check";
  EXPECT_THAT(text, Not(HasSubstr("pbx_asterisk_in_sync 0"))) << "no series without a host";

  // asterisk-2 cannot be read; then it leaves the configuration and its
  // series go.
  two.completed = false;
  two.in_sync = false;
  two.counts = {{"HOST_UNREACHABLE", 1}};
  check.hosts = {one, two};
  metrics.RecordDriftCheck(check);
  text = Exposition(*metrics.registry());
  EXPECT_THAT(text, HasSubstr("pbx_drift_check_success{host=\"asterisk-2\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("pbx_drift_findings{host=\"asterisk-2\",kind=\"HOST_UNREACHABLE\"} 1\n"));
  check.hosts = {one};
  metrics.RecordDriftCheck(check);
  text = Exposition(*metrics.registry());
  EXPECT_THAT(text, HasSubstr("pbx_asterisk_in_sync{host=\"asterisk-1\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("asterisk-2")));
}

}  // namespace
}  // namespace pbx
