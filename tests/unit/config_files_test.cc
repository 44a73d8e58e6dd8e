// Atomic replacement and the local host seam on the real file system.
#include "server/asterisk/config_files.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/asterisk/local_host.h"
#include "server/asterisk/shell.h"

namespace pbx {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Read(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

void Write(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::vector<std::string> Listing(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class ConfigFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("pbx-config-files-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "pjsip");
    fs::create_directories(root_ / "dialplan");
    pjsip_ = (root_ / "pjsip" / "generated_endpoints.conf").string();
    dialplan_ = (root_ / "dialplan" / "generated_routing.conf").string();
    Write(pjsip_, "old pjsip\n");
    Write(dialplan_, "old dialplan\n");
    auto session = host_.Open();
    ASSERT_TRUE(session.ok());
    session_ = std::move(*session);
  }
  void TearDown() override { fs::remove_all(root_); }

  LocalAsteriskHost host_{absl::Seconds(10)};
  std::unique_ptr<AsteriskHostSession> session_;
  fs::path root_;
  std::string pjsip_;
  std::string dialplan_;
};

TEST_F(ConfigFilesTest, ReplacesBothFilesAndLeavesNoTemporaries) {
  ASSERT_TRUE(ReplaceFilesAtomically(*session_, {{pjsip_, "new pjsip\n"}, {dialplan_, "new dp\n"}},
                                     "", "abc")
                  .ok());
  EXPECT_EQ(Read(pjsip_), "new pjsip\n");
  EXPECT_EQ(Read(dialplan_), "new dp\n");
  EXPECT_THAT(Listing(root_ / "pjsip"), ::testing::ElementsAre("generated_endpoints.conf"));
  EXPECT_THAT(Listing(root_ / "dialplan"), ::testing::ElementsAre("generated_routing.conf"));
  struct stat info;
  ASSERT_EQ(stat(pjsip_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0640u);
}

TEST_F(ConfigFilesTest, FailureBeforeTheRenamesChangesNothing) {
  // The second directory is missing: the first upload succeeds, the second fails.
  const std::string unreachable = (root_ / "missing" / "generated_routing.conf").string();
  absl::Status status = ReplaceFilesAtomically(
      *session_, {{pjsip_, "new pjsip\n"}, {unreachable, "new dp\n"}}, "", "abc");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("No such file or directory"));
  EXPECT_EQ(Read(pjsip_), "old pjsip\n");
  EXPECT_THAT(Listing(root_ / "pjsip"), ::testing::ElementsAre("generated_endpoints.conf"));
}

TEST_F(ConfigFilesTest, UnknownGroupFailsBeforeTheRenames) {
  absl::Status status = ReplaceFilesAtomically(
      *session_, {{pjsip_, "new pjsip\n"}, {dialplan_, "new dp\n"}}, "no-such-group-pbx", "abc");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("nothing was replaced"));
  EXPECT_EQ(Read(pjsip_), "old pjsip\n");
  EXPECT_EQ(Read(dialplan_), "old dialplan\n");
  EXPECT_THAT(Listing(root_ / "pjsip"), ::testing::ElementsAre("generated_endpoints.conf"));
  EXPECT_THAT(Listing(root_ / "dialplan"), ::testing::ElementsAre("generated_routing.conf"));
}

// A rename that fails after an earlier one succeeded says which file is
// already new; each file is still wholly old or wholly new.
TEST_F(ConfigFilesTest, AFailedSecondRenameNamesWhatIsAlreadyReplaced) {
  fs::remove(dialplan_);
  fs::create_directories(fs::path(dialplan_) / "in-the-way");
  absl::Status status = ReplaceFilesAtomically(
      *session_, {{pjsip_, "new pjsip\n"}, {dialplan_, "new dp\n"}}, "", "abc");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("cannot rename the new " + dialplan_));
  EXPECT_THAT(status.message(), HasSubstr("already replaced: " + pjsip_));
  EXPECT_EQ(Read(pjsip_), "new pjsip\n");
  EXPECT_TRUE(fs::is_directory(fs::path(dialplan_) / "in-the-way"));
  EXPECT_THAT(Listing(root_ / "dialplan"), ::testing::ElementsAre("generated_routing.conf"));
}

TEST_F(ConfigFilesTest, AReplacementSweepsTemporariesOfKilledApplies) {
  Write(TemporaryPathFor(pjsip_, "dead1"), "half");
  Write(TemporaryPathFor(dialplan_, "dead2"), "half");
  Write(root_ / "pjsip" / "other.conf", "not ours");
  ASSERT_TRUE(ReplaceFilesAtomically(*session_, {{pjsip_, "new pjsip\n"}, {dialplan_, "new dp\n"}},
                                     "", "live")
                  .ok());
  EXPECT_EQ(Read(pjsip_), "new pjsip\n");
  EXPECT_THAT(Listing(root_ / "pjsip"),
              ::testing::ElementsAre("generated_endpoints.conf", "other.conf"));
  EXPECT_THAT(Listing(root_ / "dialplan"), ::testing::ElementsAre("generated_routing.conf"));
}

TEST_F(ConfigFilesTest, TemporariesNeverMatchTheConfIncludeGlob) {
  const std::string temporary = TemporaryPathFor(pjsip_, "abc");
  EXPECT_EQ(fs::path(temporary).parent_path(), fs::path(pjsip_).parent_path());
  EXPECT_EQ(fs::path(temporary).filename().string().front(), '.');
  EXPECT_NE(fs::path(temporary).extension(), ".conf");
}

TEST_F(ConfigFilesTest, CreateFileRefusesToOverwrite) {
  EXPECT_FALSE(session_->CreateFile(pjsip_, "x").ok());
  EXPECT_EQ(Read(pjsip_), "old pjsip\n");
}

TEST(LocalAsteriskHost, RunsCommandsWithStatusAndMergedOutput) {
  LocalAsteriskHost host(absl::Seconds(10));
  auto session = host.Open();
  ASSERT_TRUE(session.ok());
  auto result = (*session)->Run("echo out; echo err >&2; exit 3");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_status, 3);
  EXPECT_EQ(result->output, "out\nerr\n");
  auto quoted = (*session)->Run("printf %s " + ShellQuote("it's $HOME `x` \"q\""));
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->output, "it's $HOME `x` \"q\"");
}

TEST(LocalAsteriskHost, CommandsThatHangAreCutOff) {
  LocalAsteriskHost host(absl::Seconds(1));
  auto session = host.Open();
  ASSERT_TRUE(session.ok());
  const absl::Time start = absl::Now();
  auto result = (*session)->Run("sleep 30");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace pbx
