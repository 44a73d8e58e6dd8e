// ReusingAsteriskHost over the real local host: which sessions are kept.
#include "server/asterisk/reusing_host.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/asterisk/local_host.h"

namespace pbx {
namespace {

// A real local session whose connection can be cut: every command and write
// then fails at once as unreachable, as on an SSH connection the host reset.
class CuttableSession : public AsteriskHostSession {
 public:
  CuttableSession(std::unique_ptr<AsteriskHostSession> inner, std::shared_ptr<bool> cut,
                  std::vector<std::string>* commands)
      : inner_(std::move(inner)), cut_(std::move(cut)), commands_(commands) {}
  absl::Status CreateFile(const std::string& path, const std::string& content) override {
    if (*cut_) return absl::UnavailableError("connection reset");
    return inner_->CreateFile(path, content);
  }
  absl::StatusOr<CommandResult> Run(const std::string& command) override {
    commands_->push_back(command);
    if (*cut_) return absl::UnavailableError("connection reset");
    return inner_->Run(command);
  }

 private:
  std::unique_ptr<AsteriskHostSession> inner_;
  std::shared_ptr<bool> cut_;
  std::vector<std::string>* commands_;
};

// A real local host that counts the sessions it opens; CutAll cuts every
// session opened so far.
class CountingHost : public AsteriskHost {
 public:
  CountingHost(int* opened, std::vector<std::string>* commands, std::shared_ptr<bool>* cut)
      : opened_(opened), commands_(commands), cut_(cut) {}
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> Open() override {
    ++*opened_;
    absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = local_.Open();
    if (!session.ok()) return session.status();
    *cut_ = std::make_shared<bool>(false);  // the sessions opened from now on
    return std::unique_ptr<AsteriskHostSession>(
        new CuttableSession(std::move(*session), *cut_, commands_));
  }
  std::string Describe() const override { return "counting"; }

 private:
  int* opened_;
  std::vector<std::string>* commands_;
  std::shared_ptr<bool>* cut_;
  LocalAsteriskHost local_{absl::Milliseconds(500)};
};

class ReusingHostTest : public ::testing::Test {
 protected:
  std::unique_ptr<ReusingAsteriskHost> Host(absl::Duration idle_limit) {
    return std::make_unique<ReusingAsteriskHost>(
        std::make_unique<CountingHost>(&opened_, &commands_, &cut_), idle_limit);
  }
  static void Use(AsteriskHost& host, const std::string& command = "true") {
    auto session = host.Open();
    ASSERT_TRUE(session.ok()) << session.status();
    (void)(*session)->Run(command);
  }
  int opened_ = 0;
  std::vector<std::string> commands_;  // every command sent, on any session
  std::shared_ptr<bool> cut_;          // cuts the newest session's connection
};

TEST_F(ReusingHostTest, TheNextOpenGetsTheSameSession) {
  auto host = Host(absl::Minutes(5));
  Use(*host, "echo one");
  Use(*host, "echo two");
  Use(*host, "echo three");
  EXPECT_EQ(opened_, 1);
  EXPECT_EQ(host->Describe(), "counting");
  EXPECT_EQ(commands_, (std::vector<std::string>{"echo one", "echo two", "echo three"}))
      << "a kept session is handed out without a round trip to check it";
}

TEST_F(ReusingHostTest, AKeptSessionFoundDeadIsReplacedOnItsFirstCommand) {
  auto host = Host(absl::Minutes(5));
  Use(*host);
  *cut_ = true;  // the host restarted: the kept connection is gone
  auto session = host->Open();
  ASSERT_TRUE(session.ok());
  auto ran = (*session)->Run("echo after the cut");
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_EQ(ran->output, "after the cut\n");
  EXPECT_EQ(opened_, 2);
  session->reset();
  Use(*host);
  EXPECT_EQ(opened_, 2) << "the fresh session is kept";
}

TEST_F(ReusingHostTest, OnlyTheFirstCommandIsRetried) {
  auto host = Host(absl::Minutes(5));
  Use(*host);
  auto session = host->Open();
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->Run("true").ok());
  *cut_ = true;  // cut mid-use: the caller must see it
  EXPECT_EQ((*session)->Run("true").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(opened_, 1);
}

TEST_F(ReusingHostTest, AFirstWriteOnAKeptSessionIsCheckedNotRepeated) {
  auto host = Host(absl::Minutes(5));
  Use(*host);
  commands_.clear();
  auto session = host->Open();
  ASSERT_TRUE(session.ok());
  const std::string path = ::testing::TempDir() + "/reusing_host_write";
  std::remove(path.c_str());
  ASSERT_TRUE((*session)->CreateFile(path, "x").ok());
  EXPECT_EQ(commands_, (std::vector<std::string>{"true"}));
  std::remove(path.c_str());
}

TEST_F(ReusingHostTest, ASessionWhoseTransportFailedIsNotKept) {
  auto host = Host(absl::Minutes(5));
  Use(*host, "sleep 5");  // outlives the 500 ms command timeout: UNAVAILABLE
  Use(*host);
  EXPECT_EQ(opened_, 2);
}

TEST_F(ReusingHostTest, ACommandThatFailsDoesNotSpoilTheSession) {
  auto host = Host(absl::Minutes(5));
  Use(*host, "exit 3");
  Use(*host);
  EXPECT_EQ(opened_, 1);
}

TEST_F(ReusingHostTest, AnIdleSessionExpires) {
  auto host = Host(absl::Milliseconds(1));
  Use(*host);
  absl::SleepFor(absl::Milliseconds(20));
  Use(*host);
  EXPECT_EQ(opened_, 2);
}

TEST_F(ReusingHostTest, ZeroIdleLimitTurnsReuseOff) {
  auto host = Host(absl::ZeroDuration());
  Use(*host);
  Use(*host);
  EXPECT_EQ(opened_, 2);
}

TEST_F(ReusingHostTest, ASessionMayOutliveItsHost) {
  auto host = Host(absl::Minutes(5));
  auto session = host->Open();
  ASSERT_TRUE(session.ok());
  host.reset();
  auto ran = (*session)->Run("echo still here");
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(ran->output, "still here\n");
  session->reset();  // must not touch the destroyed host
}

}  // namespace
}  // namespace pbx
