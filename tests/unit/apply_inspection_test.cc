// Preview and Drift over the in-memory fakes: what they read, that they never
// write, reload or lock, and that a preview says what the following Apply does.
#include "server/apply/apply_inspection.h"

#include <functional>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/fake_seams.h"

namespace pbx {
namespace {

using ::testing::AllOf;
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

// Two hosts, both applied: each is read over its own session, and a host that
// cannot be read is reported on its own while the other is.
class MultiHostInspectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    users_.Provision(1000, kSecretA);
    users_.Provision(1001, kSecretB);
    ASSERT_TRUE(operations_.Apply(kAlice, "", "req", /*force=*/false).ok());
  }

  static std::vector<std::string> Kinds(const DriftReport& report) {
    std::vector<std::string> kinds;
    for (const DriftFinding& f : report.findings) {
      kinds.push_back(absl::StrCat(DriftKindName(f.kind), " ", f.subject, " @", f.host));
    }
    return kinds;
  }

  const Principal kAlice{"00000000-0000-4000-8000-0000000000a1", "alice", Role::kOperator};
  testing::FakeUserStore users_;
  testing::FakeApplyStore store_;
  testing::FakeAsteriskHost a_{"fake://a"};
  testing::FakeAsteriskHost b_{"fake://b"};
  ConfigPaths paths_;
  ApplyOperations operations_{users_, store_, {{"a", &a_}, {"b", &b_}}, ApplyOptions{}};
  ApplyInspector inspector_{users_, store_, {{"a", &a_}, {"b", &b_}}, ApplyOptions{}};
};

TEST_F(MultiHostInspectionTest, PreviewSaysWhichHostDiffersAndWhy) {
  // b's pjsip file holds an older password for 1001: only b would be written.
  b_.state.files[paths_.pjsip] =
      absl::StrReplaceAll(b_.state.files[paths_.pjsip], {{kSecretB, kSecretC}});
  absl::StatusOr<ApplyPreview> preview = inspector_.Preview();
  ASSERT_TRUE(preview.ok()) << preview.status();
  ASSERT_EQ(preview->hosts.size(), 2u);
  const HostPreview& a = preview->hosts[0];
  const HostPreview& b = preview->hosts[1];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.address, "fake://a");
  EXPECT_FALSE(a.would_write);
  EXPECT_TRUE(a.diff.empty());
  EXPECT_THAT(a.reason, HasSubstr("would change nothing"));
  EXPECT_EQ(b.name, "b");
  EXPECT_TRUE(b.would_write);
  EXPECT_THAT(b.error_detail, IsEmpty());
  ASSERT_EQ(b.diff.changed.size(), 1u);
  EXPECT_EQ(b.diff.changed[0].number, 1001);
  EXPECT_THAT(b.diff.changed[0].aspects, ElementsAre("password changed"));
  EXPECT_TRUE(b.files[0].differs);
  EXPECT_FALSE(b.files[1].differs);

  // Over both: b's change; pjsip differs (the hosts disagree, so no host
  // hash), the dialplan is the same everywhere.
  EXPECT_TRUE(preview->would_write);
  ASSERT_EQ(preview->diff.changed.size(), 1u);
  EXPECT_EQ(preview->diff.changed[0].number, 1001);
  EXPECT_TRUE(preview->files[0].differs);
  EXPECT_FALSE(preview->files[0].host_sha256.has_value());
  EXPECT_FALSE(preview->files[1].differs);
  EXPECT_EQ(preview->files[1].host_sha256, preview->files[1].rendered_sha256);
  EXPECT_EQ(preview->reason,
            "b: the files on the host differ from what the database renders to; a: in sync");
}

TEST_F(MultiHostInspectionTest, PreviewUnionsTheHostsDiffs) {
  users_.Provision(1002, kSecretC);
  a_.state.files.erase(paths_.dialplan);  // a also lacks 1000's and 1001's dialplan
  absl::StatusOr<ApplyPreview> preview = inspector_.Preview();
  ASSERT_TRUE(preview.ok()) << preview.status();
  EXPECT_THAT(preview->hosts[1].diff.added, ElementsAre(1002));
  EXPECT_THAT(preview->diff.added, ElementsAre(1002));
  ASSERT_EQ(preview->diff.changed.size(), 2u);
  EXPECT_EQ(preview->diff.changed[0].number, 1000);
  EXPECT_THAT(preview->diff.changed[0].aspects, ElementsAre("dialplan changed"));
  EXPECT_FALSE(preview->files[1].host_sha256.has_value()) << "missing on a, there on b";
}

TEST_F(MultiHostInspectionTest, AHostThatCannotBeReadIsNamedAndTheOtherPreviewed) {
  b_.state.open_failure = absl::UnavailableError("ssh://b: connection refused");
  absl::StatusOr<ApplyPreview> preview = inspector_.Preview();
  ASSERT_TRUE(preview.ok()) << preview.status();
  const HostPreview& b = preview->hosts[1];
  EXPECT_THAT(b.error_detail, HasSubstr("connection refused"));
  EXPECT_TRUE(b.would_write) << "an Apply would try it";
  EXPECT_TRUE(b.files[0].differs && !b.files[0].host_sha256.has_value());
  EXPECT_THAT(preview->hosts[0].error_detail, IsEmpty());
  EXPECT_FALSE(preview->hosts[0].would_write);
  EXPECT_TRUE(preview->would_write);
  EXPECT_THAT(preview->reason, AllOf(HasSubstr("b: the host could not be read"),
                                     HasSubstr("connection refused"), HasSubstr("; a: in sync")));
  EXPECT_FALSE(preview->files[0].host_sha256.has_value());

  // A stopped daemon behind files that are current counts the same.
  b_.state.open_failure.reset();
  b_.state.daemon_down = true;
  preview = inspector_.Preview();
  ASSERT_TRUE(preview.ok()) << preview.status();
  EXPECT_THAT(preview->hosts[1].error_detail, HasSubstr("Asterisk is not running"));
  EXPECT_TRUE(preview->hosts[1].would_write);
  EXPECT_FALSE(preview->hosts[1].files[0].differs) << "its files were read, and match";
  EXPECT_FALSE(preview->files[0].host_sha256.has_value()) << "b's daemon did not answer";
}

TEST_F(MultiHostInspectionTest, EveryHostUnreadableAlikeIsTheError) {
  a_.state.open_failure = absl::UnavailableError("ssh://a: connection refused");
  b_.state.open_failure = absl::UnavailableError("ssh://b: connection refused");
  for (const absl::Status& status : {inspector_.Preview().status(), inspector_.Drift().status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(status.message(), AllOf(HasSubstr("a: ssh://a"), HasSubstr("b: ssh://b")));
  }
}

TEST_F(MultiHostInspectionTest, DriftTagsEachFindingWithItsHost) {
  b_.state.files[paths_.dialplan] += "; edited\n";
  a_.state.live_endpoints.insert("1500");
  absl::StatusOr<DriftStatus> drift = inspector_.Drift();
  ASSERT_TRUE(drift.ok()) << drift.status();
  EXPECT_EQ(drift->asterisk_host, "a=fake://a,b=fake://b");
  const std::string changed_on_b = "FILE_CHANGED " + paths_.dialplan + " @b";
  const std::string stray_on_a = "UNEXPECTED_OBJECT endpoint 1500 @a";
  EXPECT_THAT(Kinds(drift->report), ElementsAre(changed_on_b, stray_on_a)) << "by kind, then host";
  ASSERT_EQ(drift->hosts.size(), 2u);
  EXPECT_THAT(Kinds(drift->hosts[0].report), ElementsAre(stray_on_a));
  EXPECT_THAT(Kinds(drift->hosts[1].report), ElementsAre(changed_on_b));
  EXPECT_FALSE(drift->report.in_sync());

  // Pending changes on both: counted per host, the overall count summed.
  users_.Provision(1002, kSecretC);
  drift = inspector_.Drift();
  ASSERT_TRUE(drift.ok()) << drift.status();
  EXPECT_EQ(drift->report.Count(DriftKind::kPendingChanges), 2);
  EXPECT_EQ(drift->hosts[0].report.Count(DriftKind::kPendingChanges), 1);
  EXPECT_EQ(drift->report.pending.added, 1);
}

TEST_F(MultiHostInspectionTest, AnUnreachableHostIsAFindingBesideTheOthers) {
  b_.state.daemon_down = true;
  absl::StatusOr<DriftStatus> drift = inspector_.Drift();
  ASSERT_TRUE(drift.ok()) << drift.status();
  EXPECT_THAT(Kinds(drift->report), ElementsAre("HOST_UNREACHABLE b @b"));
  EXPECT_THAT(drift->report.findings[0].detail, HasSubstr("Asterisk is not running"));
  EXPECT_TRUE(drift->hosts[0].report.in_sync());
  EXPECT_THAT(drift->hosts[0].error, IsEmpty());
  EXPECT_THAT(drift->hosts[1].error, HasSubstr("Asterisk is not running"));
  EXPECT_FALSE(drift->report.in_sync());
}

TEST_F(MultiHostInspectionTest, TheHostsAreReadSideBySide) {
  // Each host's Open waits until the other's has begun: one after the other,
  // the first would wait in vain.
  auto side_by_side = [this](const std::function<bool()>& inspect) {
    auto a_opened = std::make_shared<absl::Notification>();
    auto b_opened = std::make_shared<absl::Notification>();
    bool a_saw_b = false, b_saw_a = false;
    a_.state.on_open = [&, a_opened, b_opened] {
      a_opened->Notify();
      a_saw_b = b_opened->WaitForNotificationWithTimeout(absl::Seconds(10));
    };
    b_.state.on_open = [&, a_opened, b_opened] {
      b_opened->Notify();
      b_saw_a = a_opened->WaitForNotificationWithTimeout(absl::Seconds(10));
    };
    const bool ok = inspect();
    a_.state.on_open = nullptr;
    b_.state.on_open = nullptr;
    return ok && a_saw_b && b_saw_a;
  };
  EXPECT_TRUE(side_by_side([this] { return inspector_.Preview().ok(); })) << "preview";
  EXPECT_TRUE(side_by_side([this] { return inspector_.Drift().ok(); })) << "drift";
}

}  // namespace
}  // namespace pbx
