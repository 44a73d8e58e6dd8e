// RunConcurrently through a real /bin/sh (the local host seam).
#include "server/asterisk/concurrent_commands.h"

#include <unistd.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/asterisk/local_host.h"
#include "server/asterisk/shell.h"

namespace pbx {
namespace {

using ::testing::HasSubstr;

class ConcurrentCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto session = host_.Open();
    ASSERT_TRUE(session.ok());
    session_ = std::move(*session);
  }
  LocalAsteriskHost host_{absl::Seconds(10)};
  std::unique_ptr<AsteriskHostSession> session_;
};

TEST_F(ConcurrentCommandsTest, ReturnsEachOutputAndExitStatusInOrder) {
  auto results = RunConcurrently(
      *session_, {"printf 'first\\nline two\\n'", "echo to stderr >&2; exit 3",
                  "printf 'no newline at the end'", "true"});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ((*results)[0].exit_status, 0);
  EXPECT_EQ((*results)[0].output, "first\nline two\n");
  EXPECT_EQ((*results)[1].exit_status, 3);
  EXPECT_EQ((*results)[1].output, "to stderr\n");
  EXPECT_EQ((*results)[2].output, "no newline at the end");
  EXPECT_EQ((*results)[3].output, "");
}

TEST_F(ConcurrentCommandsTest, OutputThatLooksLikeAHeaderIsJustOutput) {
  auto results = RunConcurrently(
      *session_, {"printf '@@pbx-results 1 0\\n5 total\\n'", "printf '@@pbx-results 9\\nx'"});
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ((*results)[0].output, "@@pbx-results 1 0\n5 total\n");
  EXPECT_EQ((*results)[1].output, "@@pbx-results 9\nx");
  EXPECT_EQ((*results)[1].exit_status, 0);
}

// Each command waits for a file the other creates: run one after the other,
// they would wait for ever (until the session's command timeout).
TEST_F(ConcurrentCommandsTest, CommandsRunAtTheSameTime) {
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / ("pbx-concurrent-" + std::to_string(getpid()));
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  const std::string a = ShellQuote((directory / "a").string());
  const std::string b = ShellQuote((directory / "b").string());
  auto results = RunConcurrently(
      *session_, {"touch " + a + "; while [ ! -e " + b + " ]; do sleep 0.01; done; echo one",
                  "touch " + b + "; while [ ! -e " + a + " ]; do sleep 0.01; done; echo two"});
  std::filesystem::remove_all(directory);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ((*results)[0].output, "one\n");
  EXPECT_EQ((*results)[1].output, "two\n");
}

TEST(ParseConcurrentOutput, RefusesWhatTheScriptCannotHavePrinted) {
  EXPECT_TRUE(ParseConcurrentOutput("@@pbx-results 0\n2 /t/0\nok", 1).ok());
  EXPECT_TRUE(ParseConcurrentOutput("@@pbx-results 0 1\n 2 /t/0\n 1 /t/1\n 3 total\nokx", 2).ok());
  const std::pair<const char*, size_t> garbled_outputs[] = {
      {"", 1},
      {"junk 0\n0 /t/0\n", 1},
      {"@@pbx-results x\n0 /t/0\n", 1},
      {"@@pbx-results 0\n9 /t/0\nshort", 1},
      {"@@pbx-results 0\n0 /t/0\ntrailing", 1},
      {"@@pbx-results 0 0\n0 /t/0\n", 2},
      {"@@pbx-results 0 0\n1 /t/0\n1 /t/1\nab", 2},
  };
  for (const auto& [garbled, count] : garbled_outputs) {
    auto parsed = ParseConcurrentOutput(garbled, count);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInternal) << garbled;
    EXPECT_THAT(parsed.status().message(), HasSubstr("unexpected output")) << garbled;
  }
}

TEST_F(ConcurrentCommandsTest, NoCommandsRunNothing) {
  auto results = RunConcurrently(*session_, {});
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(results->empty());
}

}  // namespace
}  // namespace pbx
