// Preview and Drift over the in-memory fakes: what they read, that they never
// write, reload or lock, and that a preview says what the following Apply does.
#include "server/apply/apply_inspection.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/fake_seams.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kSecretA[] = "AAAAbbbbCCCCdddd00001111";
constexpr char kSecretB[] = "EEEEffffGGGGhhhh22223333";
constexpr char kSecretC[] = "IIIIjjjjKKKKllll44445555";

class ApplyInspectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    users_.Provision(1000, kSecretA);
    users_.Provision(1001, kSecretB);
    ASSERT_TRUE(Apply().ok());
  }

  absl::StatusOr<ApplyAuditEntry> Apply() {
    return operations_.Apply(kAlice, "", "req", /*force=*/false);
  }

  // Nothing was written, reloaded or locked since `commands_before`.
  void ExpectReadOnly(size_t commands_before, int files_before) {
    EXPECT_EQ(host_.state.create_file_calls, files_before);
    for (size_t i = commands_before; i < host_.state.commands.size(); ++i) {
      EXPECT_THAT(host_.state.commands[i], Not(HasSubstr("reload")));
      EXPECT_THAT(host_.state.commands[i], Not(HasSubstr("mv -f")));
    }
    EXPECT_FALSE(store_.locked);
  }

  const Principal kAlice{"00000000-0000-4000-8000-0000000000a1", "alice", Role::kOperator};
  testing::FakeUserStore users_;
  testing::FakeApplyStore store_;
  testing::FakeAsteriskHost host_;
  ConfigPaths paths_;
  ApplyOperations operations_{users_, store_, host_, ApplyOptions{}};
  ApplyInspector inspector_{users_, store_, host_, ApplyOptions{}};
};

TEST_F(ApplyInspectionTest, PreviewOfAnAppliedDatabaseChangesNothing) {
  const size_t commands = host_.state.commands.size();
  const int files = host_.state.create_file_calls;
  absl::StatusOr<ApplyPreview> preview = inspector_.Preview();
  ASSERT_TRUE(preview.ok()) << preview.status();
  EXPECT_TRUE(preview->diff.empty());
  EXPECT_FALSE(preview->would_write);
  EXPECT_THAT(preview->reason, HasSubstr("would change nothing"));
  ASSERT_EQ(preview->files.size(), 2u);
  EXPECT_EQ(preview->files[0].host_sha256, preview->files[0].rendered_sha256);
  EXPECT_EQ(preview->user_count, 2);
  ExpectReadOnly(commands, files);

  // And so it is.
  absl::StatusOr<ApplyAuditEntry> applied = Apply();
  ASSERT_TRUE(applied.ok());
  EXPECT_FALSE(applied->changed);
}

TEST_F(ApplyInspectionTest, PreviewOfEachKindOfChangeMatchesTheApplyThatFollows) {
  users_.Provision(1002, kSecretC);  // added
  users_.Unprovision(1000);          // removed
  users_.Unprovision(1001);          // password changed
  users_.Provision(1001, kSecretC);
  const size_t commands = host_.state.commands.size();
  const int files = host_.state.create_file_calls;
  absl::StatusOr<ApplyPreview> preview = inspector_.Preview();
  ASSERT_TRUE(preview.ok()) << preview.status();
  ExpectReadOnly(commands, files);
  EXPECT_THAT(preview->diff.added, ElementsAre(1002));
  EXPECT_THAT(preview->diff.removed, ElementsAre(1000));
  ASSERT_EQ(preview->diff.changed.size(), 1u);
  EXPECT_EQ(preview->diff.changed[0].number, 1001);
  EXPECT_THAT(preview->diff.changed[0].aspects, ElementsAre("password changed"));
  EXPECT_TRUE(preview->would_write);
  EXPECT_NE(preview->files[0].host_sha256, preview->files[0].rendered_sha256);

  absl::StatusOr<ApplyAuditEntry> applied = Apply();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->changed);
  EXPECT_EQ(applied->content_hash, preview->content_hash);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(applied->files[i].sha256, preview->files[i].rendered_sha256)
        << "the preview's rendered file is what Apply wrote";
  }
  EXPECT_THAT(host_.state.live_endpoints, ElementsAre("1001", "1002"));
}

TEST_F(ApplyInspectionTest, PreviewSeesCurrentFilesThatAsteriskDoesNotRun) {
  host_.state.live_aors.erase("1001");
  absl::StatusOr<ApplyPreview> preview = inspector_.Preview();
  ASSERT_TRUE(preview.ok());
  EXPECT_TRUE(preview->diff.empty());
  EXPECT_TRUE(preview->would_write);
  EXPECT_THAT(preview->reason, HasSubstr("Asterisk does not run them"));
}

TEST_F(ApplyInspectionTest, PreviewOfAMissingFileAddsEverything) {
  host_.state.files.erase(paths_.pjsip);
  absl::StatusOr<ApplyPreview> preview = inspector_.Preview();
  ASSERT_TRUE(preview.ok());
  EXPECT_FALSE(preview->files[0].host_sha256.has_value());
  EXPECT_TRUE(preview->would_write);
}

TEST_F(ApplyInspectionTest, AnUnreachableHostIsUnavailable) {
  host_.state.open_failure = absl::UnavailableError("cannot reach the Asterisk host");
  EXPECT_EQ(inspector_.Preview().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(inspector_.Drift().status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ApplyInspectionTest, DriftNeedsTheDaemonAndSaysSo) {
  host_.state.daemon_down = true;
  absl::StatusOr<DriftStatus> drift = inspector_.Drift();
  EXPECT_EQ(drift.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(drift.status().message(), HasSubstr("Asterisk is not running"));
}

TEST_F(ApplyInspectionTest, DriftReadsEverythingInOneRoundTripAndFindsEachComparison) {
  absl::StatusOr<DriftStatus> clean = inspector_.Drift();
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_TRUE(clean->report.in_sync());
  EXPECT_EQ(clean->asterisk_host, "fake://asterisk");

  host_.state.files[paths_.dialplan] += "; edited\n";
  host_.state.live_endpoints.insert("1500");
  users_.Provision(1002, kSecretC);
  const size_t commands = host_.state.commands.size();
  absl::StatusOr<DriftStatus> drift = inspector_.Drift();
  ASSERT_TRUE(drift.ok()) << drift.status();
  EXPECT_EQ(host_.state.commands.size(), commands + 1) << "one round trip";
  std::vector<std::string> kinds;
  for (const DriftFinding& f : drift->report.findings) kinds.emplace_back(DriftKindName(f.kind));
  EXPECT_THAT(kinds, ElementsAre("FILE_CHANGED", "UNEXPECTED_OBJECT", "PENDING_CHANGES"));
  EXPECT_EQ(drift->report.pending.added, 1);
}

}  // namespace
}  // namespace pbx
