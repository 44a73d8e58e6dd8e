// The background drift check: one process checks per interval, every process
// publishes the stored result, and a change of state is logged.
#include "server/apply/drift_monitor.h"

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/fake_seams.h"

namespace pbx {
namespace {

class DriftMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    users_.Provision(1000, "AAAAbbbbCCCCdddd00001111");
    ASSERT_TRUE(operations_.Apply(kAlice, "", "req", false).ok());
  }

  const Principal kAlice{"00000000-0000-4000-8000-0000000000a1", "alice", Role::kOperator};
  testing::FakeUserStore users_;
  testing::FakeApplyStore store_;
  testing::FakeAsteriskHost host_;
  ApplyOperations operations_{users_, store_, host_, ApplyOptions{}};
  ApplyInspector inspector_{users_, store_, host_, ApplyOptions{}};
  std::vector<DriftCheckSummary> published_a_, published_b_;
  DriftMonitor a_{inspector_, store_, absl::Seconds(60), "a:1",
                  [this](const DriftCheckSummary& s) { published_a_.push_back(s); }};
  DriftMonitor b_{inspector_, store_, absl::Seconds(60), "b:2",
                  [this](const DriftCheckSummary& s) { published_b_.push_back(s); }};
};

TEST_F(DriftMonitorTest, OneProcessChecksPerIntervalAndEveryOnePublishes) {
  const size_t commands = host_.state.commands.size();
  a_.Tick();
  b_.Tick();
  EXPECT_EQ(host_.state.commands.size(), commands + 1) << "only the first process checked";
  ASSERT_EQ(published_a_.size(), 1u);
  ASSERT_EQ(published_b_.size(), 1u);
  EXPECT_TRUE(published_a_[0].completed);
  EXPECT_TRUE(published_a_[0].in_sync);
  EXPECT_EQ(published_b_[0].checked_by, "a:1") << "b reports a's check";

  // The next interval: a (or whoever ticks first) checks again and finds
  // the stray endpoint.
  host_.state.live_endpoints.insert("1500");
  *store_.drift_claimed_at -= absl::Seconds(60);
  b_.Tick();
  a_.Tick();
  ASSERT_EQ(published_a_.size(), 2u);
  EXPECT_FALSE(published_a_[1].in_sync);
  EXPECT_EQ(published_a_[1].counts.at("UNEXPECTED_OBJECT"), 1);
  EXPECT_EQ(published_a_[1].checked_by, "b:2");
}

TEST_F(DriftMonitorTest, ACheckThatCannotRunIsPublishedAsNotCompleted) {
  host_.state.daemon_down = true;
  a_.Tick();
  ASSERT_EQ(published_a_.size(), 1u);
  EXPECT_FALSE(published_a_[0].completed);
  EXPECT_FALSE(published_a_[0].in_sync);
  EXPECT_THAT(published_a_[0].error, ::testing::HasSubstr("Asterisk is not running"));
}

TEST_F(DriftMonitorTest, StartChecksAtOnceAndStopEndsTheThread) {
  absl::Notification published;
  DriftMonitor monitor(inspector_, store_, absl::Seconds(60), "c:3",
                       [&published](const DriftCheckSummary&) {
                         if (!published.HasBeenNotified()) published.Notify();
                       });
  monitor.Start();
  EXPECT_TRUE(published.WaitForNotificationWithTimeout(absl::Seconds(10)))
      << "no check right after the start";
  monitor.Stop();
  EXPECT_TRUE(store_.drift_check.has_value());
}

}  // namespace
}  // namespace pbx
