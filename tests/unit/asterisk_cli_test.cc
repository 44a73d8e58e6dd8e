// AsteriskCli's handling of what `asterisk -rx` answers. The real Asterisk is
// exercised end to end (tests/e2e/test_apply_*); here a scripted session plays
// the answers that are hard to provoke on demand (a reload already running),
// and a stand-in program a daemon that cannot be reached.
#include "server/asterisk/asterisk_cli.h"

#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/asterisk/local_host.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPjsipReloaded[] = "Module 'res_pjsip.so' reloaded successfully.\n";
constexpr char kBusy[] =
    "A module reload request is already in progress; please be patient\n";

// Answers each CLI command (the text inside -rx '...') from a queue of
// results; the last result of a queue repeats.
class ScriptedSession : public AsteriskHostSession {
 public:
  void Script(const std::string& cli_command, std::deque<CommandResult> results) {
    script_[cli_command] = std::move(results);
  }
  absl::Status CreateFile(const std::string&, const std::string&) override {
    return absl::UnimplementedError("not used");
  }
  absl::StatusOr<CommandResult> Run(const std::string& command) override {
    const size_t open = command.find("-rx '");
    const std::string cli = command.substr(open + 5, command.size() - open - 6);
    commands.push_back(cli);
    auto& queue = script_[cli];
    if (queue.empty()) return CommandResult{0, "No such command '" + cli + "'\n"};
    CommandResult result = queue.front();
    if (queue.size() > 1) queue.pop_front();
    return result;
  }
  std::vector<std::string> commands;

 private:
  std::map<std::string, std::deque<CommandResult>> script_;
};

TEST(AsteriskCliReload, ReloadsPjsipThenDialplan) {
  ScriptedSession session;
  session.Script("pjsip reload", {{0, kPjsipReloaded}});
  session.Script("dialplan reload", {{0, "Dialplan reloaded.\n"}});
  AsteriskCli::ReloadReport report = AsteriskCli(session, "asterisk").Reload();
  EXPECT_TRUE(report.status.ok()) << report.status;
  EXPECT_TRUE(report.pjsip_reloaded && report.dialplan_reloaded);
  EXPECT_THAT(session.commands, ElementsAre("pjsip reload", "dialplan reload"));
  EXPECT_THAT(report.output, HasSubstr("Dialplan reloaded."));
}

TEST(AsteriskCliReload, FallsBackWhenThePjsipAliasIsMissing) {
  ScriptedSession session;  // "pjsip reload" answers "No such command"
  session.Script("module reload res_pjsip.so", {{0, kPjsipReloaded}});
  session.Script("dialplan reload", {{0, "Dialplan reloaded.\n"}});
  AsteriskCli::ReloadReport report = AsteriskCli(session, "asterisk").Reload();
  EXPECT_TRUE(report.status.ok()) << report.status;
  EXPECT_THAT(session.commands,
              ElementsAre("pjsip reload", "module reload res_pjsip.so", "dialplan reload"));
}

TEST(AsteriskCliReload, RetriesWhileAnotherReloadRuns) {
  ScriptedSession session;
  session.Script("pjsip reload", {{0, kBusy}, {0, kBusy}, {0, kPjsipReloaded}});
  session.Script("dialplan reload", {{0, kBusy}, {0, "Dialplan reloaded.\n"}});
  AsteriskCli::ReloadReport report = AsteriskCli(session, "asterisk").Reload();
  EXPECT_TRUE(report.status.ok()) << report.status;
  EXPECT_THAT(session.commands, ElementsAre("pjsip reload", "pjsip reload", "pjsip reload",
                                            "dialplan reload", "dialplan reload"));
}

TEST(AsteriskCliReload, DaemonDownMeansNothingReloaded) {
  ScriptedSession session;
  session.Script("pjsip reload",
                 {{1, "Unable to connect to remote asterisk (does /var/run/asterisk/"
                      "asterisk.ctl exist?)\n"}});
  AsteriskCli::ReloadReport report = AsteriskCli(session, "asterisk").Reload();
  EXPECT_EQ(report.status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(report.status.message(), HasSubstr("could not reach the Asterisk daemon"));
  EXPECT_FALSE(report.pjsip_reloaded);
  EXPECT_THAT(session.commands, ElementsAre("pjsip reload"));
}

TEST(AsteriskCliReload, DialplanFailureAfterPjsipIsReportedAsSuch) {
  ScriptedSession session;
  session.Script("pjsip reload", {{0, kPjsipReloaded}});
  session.Script("dialplan reload", {{1, "Unable to connect to remote asterisk\n"}});
  AsteriskCli::ReloadReport report = AsteriskCli(session, "asterisk").Reload();
  EXPECT_FALSE(report.status.ok());
  EXPECT_TRUE(report.pjsip_reloaded);
  EXPECT_FALSE(report.dialplan_reloaded);
}

TEST(AsteriskCliReload, GivesUpWhenAsteriskStaysBusy) {
  ScriptedSession session;
  session.Script("pjsip reload", {{0, kBusy}});
  AsteriskCli::ReloadReport report = AsteriskCli(session, "asterisk").Reload();
  EXPECT_EQ(report.status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(report.status.message(), HasSubstr("did not run"));
  EXPECT_FALSE(report.pjsip_reloaded);
}

// What the live-state reads make of an `asterisk -rx` that cannot reach the
// daemon, hard to provoke on the real lab: a stand-in program answers. Reading
// real output is covered by every Apply in tests/e2e (apply_ok, assert_live).
class AsteriskCliLiveStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("pbx-cli-" + std::to_string(getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(directory_);
    auto session = host_.Open();
    ASSERT_TRUE(session.ok());
    session_ = std::move(*session);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  // The program to pass to AsteriskCli: a script answering `-rx COMMAND`.
  std::string FakeAsterisk(const std::string& case_body) {
    const std::filesystem::path script = directory_ / "asterisk";
    std::ofstream(script) << "case \"$2\" in\n" << case_body << "esac\n";
    return "sh " + script.string();
  }

  std::filesystem::path directory_;
  LocalAsteriskHost host_{absl::Seconds(10)};
  std::unique_ptr<AsteriskHostSession> session_;
};

TEST_F(AsteriskCliLiveStateTest, ADaemonThatCannotBeReachedIsAnError) {
  // asterisk -rx exits 1 only when it cannot connect to the daemon.
  const std::string program = FakeAsterisk(
      "'pjsip list aors') echo 'Unable to connect to remote asterisk'; exit 1;;\n"
      "*) echo ok;;\n");
  auto live = AsteriskCli(*session_, program).ReadLiveState();
  EXPECT_EQ(live.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(live.status().message(), HasSubstr("pjsip list aors"));
  EXPECT_THAT(live.status().message(), HasSubstr("could not reach the Asterisk daemon"));
}

}  // namespace
}  // namespace pbx
