// ApplyOperations over in-memory fakes of the store and the Asterisk host:
// every step failing in turn, and what each failure leaves behind (the
// answer, the audit row, the files on the host, whether Asterisk reloaded).
// The same path on the real lab runs in tests/e2e.
#include "server/apply/apply_operations.h"

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/error_info.h"
#include "tests/unit/fake_seams.h"

namespace pbx {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kOldPjsip[] = "; old pjsip\n";
constexpr char kOldDialplan[] = "; old dialplan\n";

std::string Message(const absl::Status& status) { return std::string(status.message()); }

std::vector<std::string> PhaseNames(const ApplyAuditEntry& entry) {
  std::vector<std::string> names;
  for (const ApplyPhase& phase : entry.phases) names.push_back(phase.name);
  return names;
}

class ApplyOperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    users_.Provision(1000, "AAAAbbbbCCCCdddd00001111");
    users_.Provision(1001, "EEEEffffGGGGhhhh22223333");
    host_.state.files[paths_.pjsip] = kOldPjsip;
    host_.state.files[paths_.dialplan] = kOldDialplan;
  }

  absl::StatusOr<ApplyAuditEntry> Apply() { return operations_.Apply(kAlice, "", "req-1", /*force=*/false); }

  const Principal kAlice{"00000000-0000-4000-8000-0000000000a1", "alice", Role::kOperator};

  // The only audit row, which must be closed.
  const ApplyAuditEntry& Row() {
    EXPECT_EQ(store_.rows.size(), 1u);
    EXPECT_TRUE(store_.rows.back().finished_at.has_value()) << "the audit row was not closed";
    return store_.rows.back();
  }

  // The audit id the error names, in the message and as ErrorInfo.
  static void ExpectAuditId(const absl::Status& status, absl::string_view reason, int64_t id) {
    EXPECT_THAT(Message(status), HasSubstr(absl::StrCat("(audit id ", id, ")")));
    std::optional<ErrorInfo> info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value()) << status;
    EXPECT_EQ(info->reason, reason);
    EXPECT_EQ(info->metadata.at("audit_id"), absl::StrCat(id));
  }

  void ExpectHostUnchanged() {
    EXPECT_EQ(host_.state.files[paths_.pjsip], kOldPjsip);
    EXPECT_EQ(host_.state.files[paths_.dialplan], kOldDialplan);
    EXPECT_EQ(host_.state.files.size(), 2u) << "a temporary was left behind";
  }

  bool Reloaded() const {
    for (const std::string& command : host_.state.commands) {
      if (absl::StrContains(command, "reload")) return true;
    }
    return false;
  }

  testing::FakeUserStore users_;
  testing::FakeApplyStore store_;
  testing::FakeAsteriskHost host_;
  ConfigPaths paths_;
  ApplyOperations operations_{users_, store_, host_, ApplyOptions{}};
};

TEST_F(ApplyOperationsTest, WritesReloadsVerifiesAndAudits) {
  auto applied = Apply();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_THAT(host_.state.files[paths_.pjsip], HasSubstr("[1001-auth]"));
  EXPECT_THAT(host_.state.files[paths_.dialplan], HasSubstr("exten => 1001,1,Dial(PJSIP/1001,25)"));
  EXPECT_THAT(host_.state.live_endpoints, ElementsAre("1000", "1001"));
  const ApplyAuditEntry& row = Row();
  EXPECT_EQ(row.outcome, ApplyOutcome::kSuccess);
  EXPECT_EQ(row.triggered_by, "alice");
  EXPECT_EQ(row.triggered_by_key_id, kAlice.key_id);
  EXPECT_EQ(row.request_id, "req-1");
  EXPECT_EQ(row.asterisk_host, "fake://asterisk");
  EXPECT_EQ(row.user_count, 2);
  EXPECT_EQ(row.content_hash.size(), 64u);
  ASSERT_EQ(row.files.size(), 2u);
  EXPECT_EQ(row.files[0].path, paths_.pjsip);
  EXPECT_EQ(row.files[0].size_bytes, static_cast<int64_t>(host_.state.files[paths_.pjsip].size()));
  EXPECT_THAT(row.reload_output, HasSubstr("Dialplan reloaded."));
  EXPECT_THAT(row.verification, StartsWith("ok: 2 endpoints"));
  EXPECT_THAT(PhaseNames(row), ElementsAre("read", "render", "connect", "inspect", "upload",
                                           "rename", "reload", "verify"));
  EXPECT_TRUE(row.changed);
  EXPECT_FALSE(row.forced);
  // The answer also times the audit write.
  EXPECT_THAT(PhaseNames(*applied), Contains("audit"));
  EXPECT_FALSE(store_.locked) << "the lock is released";

  auto status = operations_.GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->pending_changes);
  users_.Provision(1002, "IIIIjjjjKKKKllll44445555");
  EXPECT_TRUE(operations_.GetStatus()->pending_changes);
}

TEST_F(ApplyOperationsTest, LockRefusedIsAuditedAndTouchesNothing) {
  store_.lock_failure = absl::AbortedError("another Apply is still running after waiting 2m");
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(Message(applied.status()), HasSubstr("another Apply is still running"));
  ExpectAuditId(applied.status(), "APPLY_NOT_STARTED", 1);
  EXPECT_EQ(Row().outcome, ApplyOutcome::kFailure);
  EXPECT_THAT(Row().error_detail, HasSubstr("still running"));
  EXPECT_THAT(users_.calls, IsEmpty());
  EXPECT_EQ(host_.state.sessions_opened, 0);
}

TEST_F(ApplyOperationsTest, ACallerWhoLeftWhileWaitingIsAuditedToo) {
  store_.lock_failure = absl::CancelledError("the caller went away");
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kCancelled);
  ExpectAuditId(applied.status(), "APPLY_NOT_STARTED", 1);
  EXPECT_THAT(Row().error_detail, HasSubstr("went away"));
  EXPECT_EQ(host_.state.sessions_opened, 0);
}

TEST_F(ApplyOperationsTest, ADatabaseDownAtLockTimeIsNotAudited) {
  store_.lock_failure = absl::UnavailableError("database unavailable; try again shortly");
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store_.rows, IsEmpty());
}

TEST_F(ApplyOperationsTest, ReadFailureChangesNothingOnTheHost) {
  users_.read_failure = absl::UnavailableError("database unavailable; try again shortly");
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(applied.status()),
              StartsWith("cannot read the users: database unavailable; try again shortly"));
  ExpectAuditId(applied.status(), "APPLY_FAILED", 1);
  EXPECT_EQ(Row().outcome, ApplyOutcome::kFailure);
  EXPECT_THAT(Row().error_detail, StartsWith("cannot read the users"));
  // The host was only inspected (beside the read): nothing written, no reload.
  EXPECT_THAT(PhaseNames(Row()), ElementsAre("connect", "inspect"));
  ExpectHostUnchanged();
  EXPECT_EQ(host_.state.create_file_calls, 0);
  EXPECT_FALSE(Reloaded());
  EXPECT_FALSE(store_.locked);
}

TEST_F(ApplyOperationsTest, RenderFailureNeverWritesBrokenData) {
  users_.Provision(1002, "bad;secret\n[x]");  // breaks an invariant the database keeps
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Message(applied.status()), "cannot render the configuration (audit id 1)");
  EXPECT_THAT(Row().error_detail, StartsWith("cannot render the configuration: "));
  EXPECT_THAT(PhaseNames(Row()), ElementsAre("read", "connect", "inspect"));
  ExpectHostUnchanged();
  EXPECT_EQ(host_.state.create_file_calls, 0);
  EXPECT_FALSE(Reloaded());
}

TEST_F(ApplyOperationsTest, AnUnreachableHostIsUnavailable) {
  host_.state.open_failure = absl::UnavailableError("cannot reach the Asterisk host");
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Message(applied.status()), "nothing was changed (audit id 1)");
  EXPECT_EQ(Row().outcome, ApplyOutcome::kFailure);
  EXPECT_THAT(Row().error_detail, HasSubstr("cannot reach the Asterisk host"));
  EXPECT_THAT(PhaseNames(Row()), ElementsAre("read", "render"));
  ExpectHostUnchanged();
}

TEST_F(ApplyOperationsTest, UploadFailureLeavesTheOldFilesAndNoTemporaries) {
  host_.state.fail_create_file = 1;  // the second file
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Message(applied.status()),
            "the configuration was not written; the previous files are unchanged and Asterisk "
            "was not reloaded (audit id 1)");
  EXPECT_THAT(Row().error_detail, AllOf(HasSubstr("cannot write "), HasSubstr("no space left")));
  ExpectAuditId(applied.status(), "APPLY_FAILED", 1);
  ExpectHostUnchanged();
  EXPECT_FALSE(Reloaded());
  EXPECT_THAT(Row().files, IsEmpty());
  EXPECT_THAT(PhaseNames(Row()), ElementsAre("read", "render", "connect", "inspect"));
}

TEST_F(ApplyOperationsTest, FirstRenameFailingReplacesNothing) {
  host_.state.fail_rename = 0;
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Message(applied.status()),
            "Asterisk was not reloaded: cannot put the new files in place; nothing was replaced "
            "(audit id 1)");
  ExpectHostUnchanged();
  EXPECT_FALSE(Reloaded());
  EXPECT_THAT(Row().error_detail,
              AllOf(HasSubstr("cannot rename the new " + paths_.pjsip +
                              " into place (nothing was replaced)"),
                    HasSubstr("Permission denied")));
  EXPECT_THAT(PhaseNames(Row()), ElementsAre("read", "render", "connect", "inspect", "upload"));
  EXPECT_FALSE(Row().changed) << "no file was replaced";
  EXPECT_FALSE(Row().hosts.at(0).changed);
}

TEST_F(ApplyOperationsTest, ALostConnectionDuringTheRenamesCountsAsAChange) {
  // Whether the renames ran is unknown to the portal: the host may run new files.
  host_.state.commit_connection_lost = true;
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Row().changed);
  EXPECT_FALSE(Reloaded());
}

TEST_F(ApplyOperationsTest, SecondRenameFailingSaysWhichFileIsNew) {
  host_.state.fail_rename = 1;
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Message(applied.status()),
            "Asterisk was not reloaded: cannot put every new file in place; 1 of 2 were replaced "
            "(audit id 1)");
  EXPECT_THAT(Row().error_detail,
              HasSubstr("cannot rename the new " + paths_.dialplan +
                        " into place (already replaced: " + paths_.pjsip + ")"));
  EXPECT_THAT(host_.state.files[paths_.pjsip], HasSubstr("[1001-auth]"));
  EXPECT_EQ(host_.state.files[paths_.dialplan], kOldDialplan);
  EXPECT_EQ(host_.state.files.size(), 2u) << "a temporary was left behind";
  EXPECT_FALSE(Reloaded());
  EXPECT_EQ(Row().outcome, ApplyOutcome::kFailure);
  EXPECT_TRUE(Row().changed) << "one file was replaced";
}

TEST_F(ApplyOperationsTest, ReloadFailureKeepsTheNewFilesAndSaysAsteriskDidNotReload) {
  host_.state.daemon_stops_before_reload = true;
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(applied.status()),
              AllOf(StartsWith("the new files are on disk but the reload failed; Asterisk did "
                               "not reload"),
                    Not(HasSubstr("asterisk -rx"))));
  EXPECT_THAT(Row().error_detail, HasSubstr("could not reach the Asterisk daemon"));
  EXPECT_THAT(host_.state.files[paths_.pjsip], HasSubstr("[1001-auth]"));
  ASSERT_EQ(Row().files.size(), 2u) << "the audit names the files written";
  EXPECT_THAT(PhaseNames(Row()), ElementsAre("read", "render", "connect", "inspect", "upload",
                                             "rename", "reload"));
  EXPECT_TRUE(Row().changed);
}

TEST_F(ApplyOperationsTest, DialplanReloadFailureReportsAnInconsistentPbx) {
  host_.state.dialplan_reload_fails = true;
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(applied.status()),
              HasSubstr("PJSIP runs the new configuration but the dialplan does not"));
  EXPECT_THAT(Row().reload_output, HasSubstr("reloaded successfully"));
}

TEST_F(ApplyOperationsTest, VerificationFailureNamesWhatAsteriskLacks) {
  host_.state.rejected = {"endpoint 1001"};
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(applied.status()),
              AllOf(StartsWith("the live Asterisk does not match the written configuration"),
                    HasSubstr("endpoint 1001: missing")));
  EXPECT_EQ(Row().verification, "mismatch: endpoint 1001: missing");
  EXPECT_THAT(PhaseNames(Row()), ElementsAre("read", "render", "connect", "inspect", "upload", "rename",
                                             "reload", "verify"));
}

TEST_F(ApplyOperationsTest, AnAuditRowThatCannotBeClosedDoesNotFailADoneApply) {
  store_.close_failure = absl::UnavailableError("database unavailable; try again shortly");
  auto applied = Apply();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->outcome, ApplyOutcome::kSuccess);
  // The stored row stays 'running' (the next Apply marks it interrupted).
  ASSERT_EQ(store_.rows.size(), 1u);
  EXPECT_EQ(store_.rows[0].outcome, ApplyOutcome::kRunning);
  EXPECT_FALSE(store_.rows[0].finished_at.has_value());
  EXPECT_FALSE(store_.locked);
}

TEST_F(ApplyOperationsTest, TheAuditNamesTheCallersKeyAndKeepsTheNote) {
  ASSERT_TRUE(operations_.Apply(kAlice, "  after onboarding  ", "req-2", false).ok());
  EXPECT_EQ(Row().triggered_by, "alice");
  EXPECT_EQ(Row().triggered_by_key_id, kAlice.key_id);
  EXPECT_EQ(Row().note, "after onboarding");
  EXPECT_EQ(Row().request_id, "req-2");
}

TEST_F(ApplyOperationsTest, AnInvalidNoteIsRefusedBeforeAnything) {
  auto applied = operations_.Apply(kAlice, "bad\nnote", "req-1", false);
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store_.rows, IsEmpty());
  EXPECT_THAT(users_.calls, IsEmpty());
  EXPECT_FALSE(Reloaded());
  EXPECT_EQ(host_.state.sessions_opened, 0);
}

// ---------------------------------------------------------------- pre-flight and no-op

TEST_F(ApplyOperationsTest, ADaemonThatIsDownStopsTheApplyBeforeAnythingIsWritten) {
  host_.state.daemon_down = true;
  auto applied = Apply();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kUnavailable) << applied.status();
  EXPECT_THAT(Message(applied.status()),
              AllOf(HasSubstr("Asterisk is not running on its host"),
                    HasSubstr("nothing was written"), Not(HasSubstr("asterisk -rx"))));
  ExpectAuditId(applied.status(), "APPLY_FAILED", 1);
  ExpectHostUnchanged();
  EXPECT_EQ(host_.state.create_file_calls, 0);
  EXPECT_FALSE(Reloaded());
  EXPECT_EQ(Row().outcome, ApplyOutcome::kFailure);
  EXPECT_FALSE(Row().changed);
  EXPECT_THAT(PhaseNames(Row()), ElementsAre("read", "render", "connect", "inspect"));
}

TEST_F(ApplyOperationsTest, AnApplyOfWhatTheHostHoldsWritesAndReloadsNothing) {
  ASSERT_TRUE(Apply().ok());
  const size_t commands_before = host_.state.commands.size();
  const int files_created = host_.state.create_file_calls;

  auto again = operations_.Apply(kAlice, "", "req-2", /*force=*/false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(host_.state.create_file_calls, files_created) << "a file was uploaded";
  const std::vector<std::string> sent(host_.state.commands.begin() + commands_before,
                                      host_.state.commands.end());
  // Users unchanged since the kept plan, which the last Apply wrote: one
  // round trip reads the hashes and the live lists together.
  ASSERT_EQ(sent.size(), 1u) << "one round trip: the hashes and the live lists";
  EXPECT_THAT(sent[0], AllOf(HasSubstr("sha256sum"), HasSubstr("pjsip list endpoints")));
  EXPECT_THAT(users_.calls, Contains("ReadProvisioningUnless"));
  for (const std::string& command : sent) {
    EXPECT_THAT(command, AllOf(Not(HasSubstr("reload")), Not(HasSubstr("mv -f"))));
  }
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->outcome, ApplyOutcome::kSuccess);
  EXPECT_THAT(again->verification, StartsWith("ok, unchanged"));
  ASSERT_EQ(again->files.size(), 2u) << "the entry still names what the host holds";
  EXPECT_EQ(again->files[0].sha256, store_.rows[0].files[0].sha256);
  EXPECT_THAT(PhaseNames(*again),
              ElementsAre("read", "render", "connect", "inspect", "verify", "audit"));
  EXPECT_FALSE(store_.rows.back().changed);
}

TEST_F(ApplyOperationsTest, AFreshServerFindsANoOpInTwoRoundTrips) {
  ASSERT_TRUE(Apply().ok());
  // Another process (or this one restarted) has no kept plan: it reads the
  // hashes first, then the live lists, and still changes nothing.
  ApplyOperations restarted(users_, store_, host_, ApplyOptions{});
  const size_t commands_before = host_.state.commands.size();
  auto again = restarted.Apply(kAlice, "", "req-2", /*force=*/false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->changed);
  const std::vector<std::string> sent(host_.state.commands.begin() + commands_before,
                                      host_.state.commands.end());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_THAT(sent[0], AllOf(HasSubstr("sha256sum"), Not(HasSubstr("pjsip list"))));
  EXPECT_THAT(sent[1], HasSubstr("pjsip list endpoints"));
}

TEST_F(ApplyOperationsTest, ForceRewritesAndReloadsWhatTheHostAlreadyHolds) {
  ASSERT_TRUE(Apply().ok());
  const int files_created = host_.state.create_file_calls;
  const size_t commands_before = host_.state.commands.size();
  auto forced = operations_.Apply(kAlice, "", "req-2", /*force=*/true);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(host_.state.create_file_calls, files_created + 2);
  bool reloaded = false;
  for (size_t i = commands_before; i < host_.state.commands.size(); ++i) {
    reloaded = reloaded || absl::StrContains(host_.state.commands[i], "pjsip reload");
  }
  EXPECT_TRUE(reloaded);
  EXPECT_TRUE(forced->changed);
  EXPECT_TRUE(forced->forced);
  EXPECT_TRUE(store_.rows.back().forced);
}

TEST_F(ApplyOperationsTest, CurrentFilesThatAsteriskDoesNotRunAreRewrittenAndReloaded) {
  ASSERT_TRUE(Apply().ok());
  // Someone reloaded an older configuration by hand: the files are right,
  // the live state is not.
  host_.state.live_endpoints.erase("1001");
  auto again = operations_.Apply(kAlice, "", "req-2", /*force=*/false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->changed);
  EXPECT_THAT(host_.state.live_endpoints, ElementsAre("1000", "1001"));
  EXPECT_THAT(again->verification, StartsWith("ok: 2 endpoints"));
}

TEST_F(ApplyOperationsTest, AChangingApplyChecksTheDaemonWithoutReadingTheLiveListsTwice) {
  ASSERT_TRUE(Apply().ok());
  users_.Provision(1002, "IIIIjjjjKKKKllll44445555");
  const size_t commands_before = host_.state.commands.size();
  ASSERT_TRUE(operations_.Apply(kAlice, "", "req-2", false).ok());
  const std::string& inspection = host_.state.commands.at(commands_before);
  EXPECT_THAT(inspection, AllOf(HasSubstr("sha256sum"), HasSubstr("core show uptime"),
                                Not(HasSubstr("pjsip list endpoints"))));
}

// Several hosts: one render, each host its own write, reload and verification,
// side by side; the answer and the audit say what each host did.
class MultiHostApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    users_.Provision(1000, "AAAAbbbbCCCCdddd00001111");
    users_.Provision(1001, "EEEEffffGGGGhhhh22223333");
    for (testing::FakeAsteriskHost* host : {&a_, &b_}) {
      host->state.files[paths_.pjsip] = kOldPjsip;
      host->state.files[paths_.dialplan] = kOldDialplan;
    }
  }

  absl::StatusOr<ApplyAuditEntry> Apply() {
    return operations_.Apply(kAlice, "", "req-1", /*force=*/false);
  }
  static bool Reloaded(const testing::FakeAsteriskHost& host) {
    for (const std::string& command : host.state.commands) {
      if (absl::StrContains(command, "reload")) return true;
    }
    return false;
  }
  static std::vector<std::string> Phases(const HostApplyResult& host) {
    std::vector<std::string> names;
    for (const ApplyPhase& phase : host.phases) names.push_back(phase.name);
    return names;
  }

  const Principal kAlice{"00000000-0000-4000-8000-0000000000a1", "alice", Role::kOperator};
  testing::FakeUserStore users_;
  testing::FakeApplyStore store_;
  testing::FakeAsteriskHost a_{"fake://a"};
  testing::FakeAsteriskHost b_{"fake://b"};
  ConfigPaths paths_;
  ApplyOperations operations_{users_, store_, {{"a", &a_}, {"b", &b_}}, ApplyOptions{}};
};

TEST_F(MultiHostApplyTest, EveryHostGetsTheSameFilesAndItsOwnResult) {
  auto applied = Apply();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(a_.state.files[paths_.pjsip], b_.state.files[paths_.pjsip]);
  EXPECT_THAT(b_.state.files[paths_.dialplan], HasSubstr("exten => 1001,1,Dial(PJSIP/1001,25)"));
  EXPECT_THAT(a_.state.live_endpoints, ElementsAre("1000", "1001"));
  EXPECT_THAT(b_.state.live_endpoints, ElementsAre("1000", "1001"));
  const ApplyAuditEntry& row = store_.rows.back();
  EXPECT_EQ(row.asterisk_host, "a=fake://a,b=fake://b");
  ASSERT_EQ(row.hosts.size(), 2u);
  for (const HostApplyResult& host : row.hosts) {
    EXPECT_EQ(host.outcome, ApplyOutcome::kSuccess) << host.name;
    EXPECT_TRUE(host.changed);
    EXPECT_THAT(Phases(host),
                ElementsAre("connect", "inspect", "upload", "rename", "reload", "verify"));
    EXPECT_THAT(host.verification, StartsWith("ok: 2 endpoints"));
  }
  EXPECT_EQ(row.hosts[0].name, "a");
  EXPECT_EQ(row.hosts[0].address, "fake://a");
  EXPECT_EQ(row.hosts[1].name, "b");
  EXPECT_THAT(row.verification, AllOf(HasSubstr("a: ok: 2 endpoints"), HasSubstr("\nb: ok: 2")));
  ASSERT_EQ(row.files.size(), 2u);
  EXPECT_EQ(applied->hosts.size(), 2u);
}

TEST_F(MultiHostApplyTest, TheHostsAreWorkedOnSideBySide) {
  // Each host's Open waits until the other's has begun: one after the other,
  // the first would wait in vain.
  absl::Notification a_opened, b_opened;
  bool a_saw_b = false, b_saw_a = false;
  a_.state.on_open = [&] {
    a_opened.Notify();
    a_saw_b = b_opened.WaitForNotificationWithTimeout(absl::Seconds(10));
  };
  b_.state.on_open = [&] {
    b_opened.Notify();
    b_saw_a = a_opened.WaitForNotificationWithTimeout(absl::Seconds(10));
  };
  ASSERT_TRUE(Apply().ok());
  EXPECT_TRUE(a_saw_b && b_saw_a);
}

TEST_F(MultiHostApplyTest, AnUnreachableHostFailsTheApplyAndTheOthersAreUpdated) {
  b_.state.open_failure = absl::UnavailableError("ssh://b: connection refused");
  auto applied = Apply();
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(applied.status()),
              AllOf(HasSubstr("the Apply failed on 1 of 2 Asterisk hosts (b: nothing was changed)"),
                    HasSubstr("running the new configuration: a;"),
                    HasSubstr("still running the previous configuration: b"),
                    Not(HasSubstr("connection refused"))));
  EXPECT_THAT(a_.state.files[paths_.pjsip], HasSubstr("[1001-auth]"));
  EXPECT_EQ(b_.state.files[paths_.pjsip], kOldPjsip);
  const ApplyAuditEntry& row = store_.rows.back();
  EXPECT_EQ(row.outcome, ApplyOutcome::kFailure);
  EXPECT_TRUE(row.changed);
  ASSERT_EQ(row.hosts.size(), 2u);
  EXPECT_EQ(row.hosts[0].outcome, ApplyOutcome::kSuccess);
  EXPECT_EQ(row.hosts[1].outcome, ApplyOutcome::kFailure);
  EXPECT_FALSE(row.hosts[1].changed);
  EXPECT_THAT(row.hosts[1].error_detail, HasSubstr("connection refused"));
  EXPECT_THAT(Phases(row.hosts[1]), IsEmpty());

  // Back up: the next Apply leaves a alone and brings b level.
  b_.state.open_failure.reset();
  auto again = operations_.Apply(kAlice, "", "req-2", false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->hosts[0].changed);
  EXPECT_TRUE(again->hosts[1].changed);
  EXPECT_EQ(a_.state.files[paths_.pjsip], b_.state.files[paths_.pjsip]);
  EXPECT_THAT(b_.state.live_endpoints, ElementsAre("1000", "1001"));
}

TEST_F(MultiHostApplyTest, AStoppedDaemonOnOneHostWritesNothingThere) {
  a_.state.daemon_down = true;
  auto applied = Apply();
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(applied.status()),
              AllOf(HasSubstr("a: nothing was written and Asterisk was not reloaded: Asterisk is "
                              "not running on its host"),
                    HasSubstr("running the new configuration: b;"),
                    HasSubstr("still running the previous configuration: a")));
  EXPECT_EQ(a_.state.files[paths_.pjsip], kOldPjsip);
  EXPECT_FALSE(Reloaded(a_));
  EXPECT_TRUE(Reloaded(b_));
  EXPECT_THAT(Phases(store_.rows.back().hosts[0]), ElementsAre("connect", "inspect"));
}

TEST_F(MultiHostApplyTest, AHostThatFailedAfterItsRenamesIsNamedAsNotVerified) {
  b_.state.dialplan_reload_fails = true;
  auto applied = Apply();
  ASSERT_FALSE(applied.ok());
  EXPECT_THAT(Message(applied.status()),
              AllOf(HasSubstr("running the new configuration: a;"),
                    HasSubstr("new files written but not verified running: b"),
                    Not(HasSubstr("still running the previous"))));
  EXPECT_TRUE(store_.rows.back().hosts[1].changed);
}

TEST_F(MultiHostApplyTest, AHostWhoseRenamesReplacedNothingStillRunsThePrevious) {
  b_.state.fail_rename = 0;
  auto applied = Apply();
  ASSERT_FALSE(applied.ok());
  EXPECT_THAT(Message(applied.status()),
              AllOf(HasSubstr("running the new configuration: a;"),
                    HasSubstr("still running the previous configuration: b"),
                    Not(HasSubstr("not verified running"))));
  EXPECT_EQ(b_.state.files[paths_.pjsip], kOldPjsip);
  EXPECT_TRUE(store_.rows.back().hosts[0].changed);
  EXPECT_FALSE(store_.rows.back().hosts[1].changed);
}

TEST_F(MultiHostApplyTest, EveryHostFailingAlikeKeepsThatCode) {
  a_.state.open_failure = absl::UnavailableError("refused");
  b_.state.open_failure = absl::UnavailableError("refused");
  auto applied = Apply();
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(applied.status()),
              AllOf(HasSubstr("the Apply failed on 2 of 2 Asterisk hosts"),
                    HasSubstr("still running the previous configuration: a, b")));
  EXPECT_FALSE(store_.rows.back().changed);
  EXPECT_TRUE(store_.rows.back().files.empty());
}

TEST_F(MultiHostApplyTest, ANoOpOnEveryHostChangesNothing) {
  ASSERT_TRUE(Apply().ok());
  auto again = operations_.Apply(kAlice, "", "req-2", false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->changed);
  for (const HostApplyResult& host : again->hosts) {
    EXPECT_FALSE(host.changed);
    EXPECT_THAT(host.verification, StartsWith("ok, unchanged"));
  }
  EXPECT_EQ(again->files.size(), 2u);
}

// ---------------------------------------------------------------- status per host

TEST_F(ApplyOperationsTest, TheOneHostsStatusIsTheLastSuccessfulApplys) {
  absl::StatusOr<ApplyStatus> before = operations_.GetStatus();
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(before->hosts.size(), 1u);
  EXPECT_EQ(before->hosts[0].name, "asterisk");
  EXPECT_EQ(before->hosts[0].address, "fake://asterisk");
  EXPECT_FALSE(before->hosts[0].last_success.has_value());
  EXPECT_EQ(before->hosts[0].applied_content_hash, "");
  EXPECT_TRUE(before->hosts[0].pending_changes);
  EXPECT_TRUE(before->pending_changes);

  ASSERT_TRUE(Apply().ok());
  absl::StatusOr<ApplyStatus> after = operations_.GetStatus();
  ASSERT_TRUE(after.ok()) << after.status();
  const HostApplyStatus& host = after->hosts.at(0);
  ASSERT_TRUE(host.last_success.has_value());
  EXPECT_EQ(host.last_success->id, after->last_successful_apply->id);
  EXPECT_EQ(host.applied_content_hash, after->current_content_hash);
  EXPECT_FALSE(host.pending_changes);
  EXPECT_FALSE(after->pending_changes);
}

TEST_F(ApplyOperationsTest, ASuccessRecordedBeforeHostsWereCountsForTheOnlyHost) {
  const std::string current = operations_.GetStatus()->current_content_hash;
  ApplyAuditEntry legacy;  // as the single-host code closed it: no hosts
  legacy.id = 7;
  legacy.outcome = ApplyOutcome::kSuccess;
  legacy.content_hash = current;
  store_.rows.push_back(legacy);
  absl::StatusOr<ApplyStatus> status = operations_.GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(status->hosts.at(0).last_success.has_value());
  EXPECT_EQ(status->hosts[0].last_success->id, 7);
  EXPECT_FALSE(status->hosts[0].pending_changes);
  EXPECT_FALSE(status->pending_changes);
}

TEST_F(MultiHostApplyTest, TheStatusSaysWhichHostMissedAnApplyUntilTheNextOne) {
  absl::StatusOr<ApplyStatus> status = operations_.GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->hosts.size(), 2u);
  EXPECT_EQ(status->hosts[0].name, "a");
  EXPECT_EQ(status->hosts[1].name, "b");
  EXPECT_EQ(status->hosts[1].address, "fake://b");
  EXPECT_TRUE(status->hosts[0].pending_changes && status->hosts[1].pending_changes);

  b_.state.open_failure = absl::UnavailableError("ssh://b: connection refused");
  ASSERT_FALSE(Apply().ok());
  const int64_t partial = store_.rows.back().id;
  status = operations_.GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  // a received it (in an Apply that failed as a whole), b did not.
  EXPECT_FALSE(status->last_successful_apply.has_value());
  const HostApplyStatus& a = status->hosts[0];
  ASSERT_TRUE(a.last_success.has_value());
  EXPECT_EQ(a.last_success->id, partial);
  EXPECT_EQ(a.applied_content_hash, status->current_content_hash);
  EXPECT_FALSE(a.pending_changes);
  const HostApplyStatus& b = status->hosts[1];
  EXPECT_FALSE(b.last_success.has_value());
  EXPECT_EQ(b.applied_content_hash, "");
  EXPECT_TRUE(b.pending_changes);
  EXPECT_TRUE(status->pending_changes);

  b_.state.open_failure.reset();
  ASSERT_TRUE(operations_.Apply(kAlice, "", "req-2", false).ok());
  const int64_t converged = store_.rows.back().id;
  status = operations_.GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  for (const HostApplyStatus& host : status->hosts) {
    ASSERT_TRUE(host.last_success.has_value()) << host.name;
    EXPECT_EQ(host.last_success->id, converged) << host.name;
    EXPECT_FALSE(host.pending_changes) << host.name;
  }
  EXPECT_FALSE(status->pending_changes);

  // A new user: every host is behind again.
  users_.Provision(1002, "IIIIjjjjKKKKllll44445555");
  status = operations_.GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->hosts[0].pending_changes && status->hosts[1].pending_changes);
  EXPECT_EQ(status->hosts[0].applied_content_hash, status->hosts[1].applied_content_hash);
  EXPECT_NE(status->hosts[0].applied_content_hash, status->current_content_hash);
}

TEST_F(MultiHostApplyTest, ASuccessRecordedBeforeHostsWereNamesNoneOfSeveralOtherHosts) {
  ApplyAuditEntry legacy;
  legacy.id = 7;
  legacy.outcome = ApplyOutcome::kSuccess;
  legacy.content_hash = operations_.GetStatus()->current_content_hash;
  store_.rows.push_back(legacy);
  absl::StatusOr<ApplyStatus> status = operations_.GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  for (const HostApplyStatus& host : status->hosts) {
    EXPECT_FALSE(host.last_success.has_value()) << host.name;
    EXPECT_TRUE(host.pending_changes) << host.name;
  }
}

TEST(ApplyAuditTest, WhichHostAnEntryWithoutHostsCountsFor) {
  EXPECT_EQ(LegacyHostOf({"asterisk"}), "asterisk");
  EXPECT_EQ(LegacyHostOf({"pbx1"}), "pbx1");
  EXPECT_EQ(LegacyHostOf({"b", "asterisk"}), "asterisk");
  EXPECT_EQ(LegacyHostOf({"a", "b"}), "");

  ApplyAuditEntry legacy;
  legacy.outcome = ApplyOutcome::kSuccess;
  EXPECT_TRUE(HostSucceeded(legacy, "asterisk", "asterisk"));
  EXPECT_FALSE(HostSucceeded(legacy, "b", "asterisk"));
  EXPECT_FALSE(HostSucceeded(legacy, "a", ""));
  legacy.outcome = ApplyOutcome::kFailure;
  EXPECT_FALSE(HostSucceeded(legacy, "asterisk", "asterisk"));

  ApplyAuditEntry partial;
  partial.outcome = ApplyOutcome::kFailure;
  partial.hosts.resize(2);
  partial.hosts[0].name = "a";
  partial.hosts[0].outcome = ApplyOutcome::kSuccess;
  partial.hosts[1].name = "b";
  partial.hosts[1].outcome = ApplyOutcome::kFailure;
  EXPECT_TRUE(HostSucceeded(partial, "a", "a"));
  EXPECT_FALSE(HostSucceeded(partial, "b", "a"));
  // Recorded with hosts: the legacy rule does not apply.
  EXPECT_FALSE(HostSucceeded(partial, "asterisk", "asterisk"));
}

}  // namespace
}  // namespace pbx
