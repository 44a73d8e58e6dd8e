// FindDrift: each kind of finding from the three comparisons, and in_sync.
#include "server/core/drift.h"

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/asterisk_config.h"
#include "server/core/sha256.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kPjsipPath[] = "/etc/asterisk/pjsip.d/synergycall/generated_endpoints.conf";
constexpr char kDialplanPath[] = "/etc/asterisk/extensions.d/synergycall/generated_routing.conf";
constexpr char kSecretA[] = "AAAAbbbbCCCCdddd00001111";
constexpr char kSecretB[] = "EEEEffffGGGGhhhh22223333";

// A PBX in step: the files of the last Apply on the host and loaded.
class DriftTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RenderedConfig> config =
        RenderAsteriskConfig({{1000, kSecretA}, {1001, kSecretB}}, DefaultEndpointProfile());
    ASSERT_TRUE(config.ok());
    ApplyAuditEntry applied;
    applied.outcome = ApplyOutcome::kSuccess;
    applied.content_hash = config->content_hash;
    applied.files = {{kPjsipPath, Sha256Hex(config->pjsip), 0},
                     {kDialplanPath, Sha256Hex(config->dialplan), 0}};
    inputs_.last_successful_apply = applied;
    inputs_.host_files = {{kPjsipPath, config->pjsip}, {kDialplanPath, config->dialplan}};
    inputs_.live.endpoints = {"1000", "1001", "trunk"};
    inputs_.live.aors = {"1000", "1001"};
    inputs_.live.auths = {"1000-auth", "1001-auth", "trunk-auth"};
    inputs_.live.dialplan = {{"1000", "Dial(PJSIP/1000,25)"}, {"1001", "Dial(PJSIP/1001,25)"}};
    inputs_.rendered_pjsip = config->pjsip;
    inputs_.rendered_dialplan = config->dialplan;
    inputs_.rendered_content_hash = config->content_hash;
  }

  std::vector<std::string> Kinds() {
    std::vector<std::string> kinds;
    for (const DriftFinding& finding : FindDrift(inputs_).findings) {
      kinds.push_back(absl::StrCat(DriftKindName(finding.kind), " ", finding.subject));
    }
    return kinds;
  }

  DriftInputs inputs_;
};

TEST_F(DriftTest, APbxInStepIsInSync) {
  const DriftReport report = FindDrift(inputs_);
  EXPECT_TRUE(report.in_sync());
  EXPECT_THAT(report.findings, IsEmpty());
  const HostDriftSummary summary = SummarizeDrift(report);
  EXPECT_TRUE(summary.completed && summary.in_sync);
  EXPECT_EQ(summary.counts.size(), 9u) << "every kind is counted, 0 or more";
  EXPECT_EQ(summary.counts.at("FILE_CHANGED"), 0);
}

TEST_F(DriftTest, AnEditedFileIsChanged) {
  inputs_.host_files[0].content = absl::StrReplaceAll(*inputs_.host_files[0].content,
                                                      {{"direct_media=no", "direct_media=yes"}});
  EXPECT_THAT(Kinds(), ElementsAre(std::string("FILE_CHANGED ") + kPjsipPath));
  const DriftReport report = FindDrift(inputs_);
  EXPECT_FALSE(report.in_sync());
  EXPECT_THAT(report.findings[0].detail, HasSubstr("the last successful Apply wrote"));
}

TEST_F(DriftTest, ADeletedFileIsMissingAndItsObjectsAreNotReportedAgain) {
  inputs_.host_files[1].content.reset();
  EXPECT_THAT(Kinds(), ElementsAre(std::string("FILE_MISSING ") + kDialplanPath));
}

TEST_F(DriftTest, AStrayEndpointInTheRangeIsUnexpected) {
  inputs_.live.endpoints.push_back("1500");
  inputs_.live.dialplan["1500"] = "Dial(PJSIP/1500,25)";
  inputs_.live.endpoints.push_back("2500");  // outside the portal's range: not its business
  EXPECT_THAT(Kinds(), ElementsAre("UNEXPECTED_OBJECT endpoint 1500",
                                   "UNEXPECTED_OBJECT dialplan 1500"));
}

TEST_F(DriftTest, ObjectsTheFilesHoldButAsteriskLacksAreMissingByKind) {
  // Asterisk restarted with an older file that lacked 1001.
  inputs_.live.endpoints = {"1000"};
  inputs_.live.aors = {"1000"};
  inputs_.live.auths = {"1000-auth"};
  inputs_.live.dialplan.erase("1001");
  EXPECT_THAT(Kinds(), ElementsAre("ENDPOINT_MISSING endpoint 1001", "AOR_MISSING aor 1001",
                                   "AUTH_MISSING auth 1001-auth",
                                   "DIALPLAN_MISSING dialplan 1001"));
}

TEST_F(DriftTest, UsersChangedSinceTheLastApplyArePendingWithCounts) {
  absl::StatusOr<RenderedConfig> now = RenderAsteriskConfig(
      {{1000, kSecretB}, {1002, kSecretA}, {1003, kSecretA}}, DefaultEndpointProfile());
  ASSERT_TRUE(now.ok());
  inputs_.rendered_pjsip = now->pjsip;
  inputs_.rendered_dialplan = now->dialplan;
  inputs_.rendered_content_hash = now->content_hash;
  const DriftReport report = FindDrift(inputs_);
  ASSERT_THAT(Kinds(), ElementsAre("PENDING_CHANGES database"));
  EXPECT_EQ(report.pending.added, 2);
  EXPECT_EQ(report.pending.removed, 1);
  EXPECT_EQ(report.pending.changed, 1);
  EXPECT_THAT(report.findings[0].detail, HasSubstr("2 extensions to add, 1 to remove, 1 to change"));
}

TEST_F(DriftTest, NothingEverAppliedIsPendingAndNoFileIsJudged) {
  inputs_.last_successful_apply.reset();
  inputs_.host_files[0].content = "; somebody else's file\n";
  EXPECT_THAT(Kinds(), ElementsAre("UNEXPECTED_OBJECT endpoint 1000", "UNEXPECTED_OBJECT endpoint 1001",
                                   "UNEXPECTED_OBJECT aor 1000", "UNEXPECTED_OBJECT aor 1001",
                                   "UNEXPECTED_OBJECT auth 1000-auth",
                                   "UNEXPECTED_OBJECT auth 1001-auth", "PENDING_CHANGES database"));
}

TEST_F(DriftTest, FindingsComeGroupedInKindOrder) {
  inputs_.live.endpoints.push_back("1500");
  inputs_.host_files[1].content.reset();
  inputs_.live.aors = {"1000"};
  EXPECT_THAT(Kinds(), ElementsAre(std::string("FILE_MISSING ") + kDialplanPath,
                                   "AOR_MISSING aor 1001", "UNEXPECTED_OBJECT endpoint 1500"));
}

}  // namespace
}  // namespace pbx
