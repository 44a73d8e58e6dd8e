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

TEST_F(DriftMonitorTest, OneHostIsOneSummaryPartNamedAsterisk) {
  a_.Tick();
  ASSERT_EQ(published_a_.size(), 1u);
  ASSERT_EQ(published_a_[0].hosts.size(), 1u);
  EXPECT_EQ(published_a_[0].hosts[0].name, "asterisk");
  EXPECT_EQ(published_a_[0].hosts[0].address, "fake://asterisk");
  EXPECT_TRUE(published_a_[0].hosts[0].in_sync);
  EXPECT_EQ(published_a_[0].hosts[0].counts.size(), 9u) << "every kind, HOST_UNREACHABLE too";
}

TEST_F(DriftMonitorTest, AnUnreachableHostIsNotInSyncWithItsFinding) {
  host_.state.open_failure = absl::UnavailableError("ssh://asterisk: connection refused");
  a_.Tick();
  ASSERT_EQ(published_a_.size(), 1u);
  const DriftCheckSummary& summary = published_a_[0];
  EXPECT_FALSE(summary.completed);
  EXPECT_THAT(summary.error, ::testing::HasSubstr("connection refused"));
  ASSERT_EQ(summary.hosts.size(), 1u);
  EXPECT_FALSE(summary.hosts[0].in_sync);
  EXPECT_EQ(summary.hosts[0].counts.at("HOST_UNREACHABLE"), 1);
  EXPECT_EQ(summary.counts.at("HOST_UNREACHABLE"), 1);
}

// Two hosts: every check reads both, and the stored summary has each host's
// part, which every process publishes.
class MultiHostDriftMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    users_.Provision(1000, "AAAAbbbbCCCCdddd00001111");
    ASSERT_TRUE(operations_.Apply(kAlice, "", "req", false).ok());
  }

  const Principal kAlice{"00000000-0000-4000-8000-0000000000a1", "alice", Role::kOperator};
  testing::FakeUserStore users_;
  testing::FakeApplyStore store_;
  testing::FakeAsteriskHost one_{"fake://one"};
  testing::FakeAsteriskHost two_{"fake://two"};
  ConfigPaths paths_;
  ApplyOperations operations_{users_, store_, {{"one", &one_}, {"two", &two_}}, ApplyOptions{}};
  ApplyInspector inspector_{users_, store_, {{"one", &one_}, {"two", &two_}}, ApplyOptions{}};
  std::vector<DriftCheckSummary> published_a_, published_b_;
  DriftMonitor a_{inspector_, store_, absl::Seconds(60), "a:1",
                  [this](const DriftCheckSummary& s) { published_a_.push_back(s); }};
  DriftMonitor b_{inspector_, store_, absl::Seconds(60), "b:2",
                  [this](const DriftCheckSummary& s) { published_b_.push_back(s); }};
};

TEST_F(MultiHostDriftMonitorTest, EachHostIsStoredAndPublishedOnItsOwn) {
  two_.state.files[paths_.dialplan] += "; edited\n";
  a_.Tick();
  b_.Tick();
  ASSERT_TRUE(store_.drift_check.has_value());
  for (const DriftCheckSummary* summary : {&*store_.drift_check, &published_b_.at(0)}) {
    ASSERT_EQ(summary->hosts.size(), 2u);
    const HostDriftSummary& one = summary->hosts[0];
    const HostDriftSummary& two = summary->hosts[1];
    EXPECT_EQ(one.name, "one");
    EXPECT_TRUE(one.completed && one.in_sync);
    EXPECT_EQ(one.counts.at("FILE_CHANGED"), 0);
    EXPECT_EQ(two.name, "two");
    EXPECT_EQ(two.address, "fake://two");
    EXPECT_TRUE(two.completed);
    EXPECT_FALSE(two.in_sync);
    EXPECT_EQ(two.counts.at("FILE_CHANGED"), 1);
    EXPECT_TRUE(summary->completed);
    EXPECT_FALSE(summary->in_sync);
    EXPECT_EQ(summary->counts.at("FILE_CHANGED"), 1);
  }

  // The next check: two cannot be read; one is still checked.
  two_.state.open_failure = absl::UnavailableError("ssh://two: connection refused");
  one_.state.live_endpoints.insert("1500");
  *store_.drift_claimed_at -= absl::Seconds(60);
  a_.Tick();
  const DriftCheckSummary& summary = published_a_.at(1);
  EXPECT_FALSE(summary.completed);
  EXPECT_EQ(summary.error, "two: ssh://two: connection refused");
  EXPECT_EQ(summary.hosts[0].counts.at("UNEXPECTED_OBJECT"), 1);
  EXPECT_TRUE(summary.hosts[0].completed);
  EXPECT_FALSE(summary.hosts[1].completed);
  EXPECT_FALSE(summary.hosts[1].in_sync);
  EXPECT_EQ(summary.hosts[1].counts.at("HOST_UNREACHABLE"), 1);
  EXPECT_EQ(summary.hosts[1].counts.at("FILE_CHANGED"), 0);
}

TEST_F(MultiHostDriftMonitorTest, ACheckThatCannotReadTheDatabaseLeavesEveryHostUnknown) {
  users_.read_failure = absl::UnavailableError("database down");
  a_.Tick();
  ASSERT_EQ(published_a_.size(), 1u);
  const DriftCheckSummary& summary = published_a_[0];
  EXPECT_FALSE(summary.completed);
  ASSERT_EQ(summary.hosts.size(), 2u);
  for (const HostDriftSummary& host : summary.hosts) {
    EXPECT_FALSE(host.completed) << host.name;
    EXPECT_FALSE(host.in_sync) << host.name;
    EXPECT_EQ(host.error, "cannot read the users: database down");
  }
}

}  // namespace
}  // namespace pbx
