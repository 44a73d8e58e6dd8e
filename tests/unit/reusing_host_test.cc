// ReusingAsteriskHost over the real local host: which sessions are kept.
#include "server/asterisk/reusing_host.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/asterisk/local_host.h"

namespace pbx {
namespace {

// A real local host that counts the sessions it opens and can be told to
// refuse, like an SSH host that went away.
class CountingHost : public AsteriskHost {
 public:
  explicit CountingHost(int* opened) : opened_(opened) {}
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> Open() override {
    ++*opened_;
    return local_.Open();
  }
  std::string Describe() const override { return "counting"; }

 private:
  int* opened_;
  LocalAsteriskHost local_{absl::Milliseconds(500)};
};

class ReusingHostTest : public ::testing::Test {
 protected:
  std::unique_ptr<ReusingAsteriskHost> Host(absl::Duration idle_limit) {
    return std::make_unique<ReusingAsteriskHost>(std::make_unique<CountingHost>(&opened_),
                                                 idle_limit);
  }
  static void Use(AsteriskHost& host, const std::string& command = "true") {
    auto session = host.Open();
    ASSERT_TRUE(session.ok()) << session.status();
    (void)(*session)->Run(command);
  }
  int opened_ = 0;
};

TEST_F(ReusingHostTest, TheNextOpenGetsTheSameSession) {
  auto host = Host(absl::Minutes(5));
  Use(*host);
  Use(*host);
  Use(*host);
  EXPECT_EQ(opened_, 1);
  EXPECT_EQ(host->Describe(), "counting");
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
