// PgApplyLocker against a real PostgreSQL: one Apply at a time across every
// server process, the kept connection, and the bounds on waiting.
#include "server/store/pg_apply_lock.h"

#include <atomic>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/database_fixture.h"

namespace pbx {
namespace {

class PgApplyLockTest : public testing::SchemaTest {
 protected:
  void SetUp() override {
    SchemaTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    locker_ = std::make_unique<PgApplyLocker>(*pool_, kMaxWaiters);
  }

  static constexpr int kMaxWaiters = 2;
  std::unique_ptr<PgApplyLocker> locker_;
};

TEST_F(PgApplyLockTest, OneApplyLockAtATime) {
  auto first = locker_->Lock(absl::Seconds(1), NeverCancelled);
  ASSERT_TRUE(first.ok()) << first.status();
  const absl::Time start = absl::Now();
  auto second = locker_->Lock(absl::Milliseconds(300), NeverCancelled);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  // A waiter gets the lock as soon as the holder lets go.
  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(200));
    first->reset();
  });
  auto third = locker_->Lock(absl::Seconds(5), NeverCancelled);
  release.join();
  EXPECT_TRUE(third.ok()) << third.status();
}

// The backend holding this database's Apply lock, or 0.
int ApplyLockHolder(const std::string& url) {
  pqxx::connection connection(url);
  pqxx::result result = pqxx::nontransaction(connection).exec(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
      " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
  return result.empty() ? 0 : result[0][0].as<int>();
}

TEST_F(PgApplyLockTest, TheLockConnectionIsKeptForTheNextApply) {
  auto first = locker_->Lock(absl::Seconds(1), NeverCancelled);
  ASSERT_TRUE(first.ok()) << first.status();
  const int holder = ApplyLockHolder(url());
  ASSERT_NE(holder, 0);
  first->reset();
  EXPECT_EQ(ApplyLockHolder(url()), 0) << "released, but still held";
  auto second = locker_->Lock(absl::Seconds(1), NeverCancelled);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(ApplyLockHolder(url()), holder) << "a new connection was opened";
}

TEST_F(PgApplyLockTest, AKeptLockConnectionThatBrokeIsReplaced) {
  auto first = locker_->Lock(absl::Seconds(1), NeverCancelled);
  ASSERT_TRUE(first.ok()) << first.status();
  const int holder = ApplyLockHolder(url());
  first->reset();
  {
    pqxx::connection admin(url());
    pqxx::nontransaction(admin).exec_params("SELECT pg_terminate_backend($1)", holder);
  }
  auto second = locker_->Lock(absl::Seconds(1), NeverCancelled);
  ASSERT_TRUE(second.ok()) << second.status();
  const int new_holder = ApplyLockHolder(url());
  EXPECT_NE(new_holder, 0);
  EXPECT_NE(new_holder, holder);
}

// Backends of this database waiting for an advisory lock.
int WaitingForTheLock(const std::string& url) {
  pqxx::connection connection(url);
  return pqxx::nontransaction(connection)
      .exec1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
             " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")[0]
      .as<int>();
}

TEST_F(PgApplyLockTest, BeyondMaxWaitersTheNextIsRefusedAtOnce) {
  auto held = locker_->Lock(absl::Seconds(1), NeverCancelled);
  ASSERT_TRUE(held.ok()) << held.status();
  std::atomic<bool> stop{false};
  auto until_stopped = [&stop] { return stop.load(); };
  std::vector<std::thread> waiters;
  std::vector<absl::Status> results(kMaxWaiters);
  for (int i = 0; i < kMaxWaiters; ++i) {
    waiters.emplace_back([&, i] { results[i] = locker_->Lock(absl::Seconds(30), until_stopped).status(); });
  }
  // Both waiters are queued in PostgreSQL (each re-asks every slice, so both
  // show only between their slices' ends: poll until they do).
  const absl::Time patience = absl::Now() + absl::Seconds(10);
  int waiting = 0;
  while ((waiting = WaitingForTheLock(url())) < kMaxWaiters && absl::Now() < patience) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(waiting, kMaxWaiters);
  const absl::Time start = absl::Now();
  auto refused = locker_->Lock(absl::Seconds(30), NeverCancelled);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("PBX_APPLY_MAX_WAITERS"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1)) << "refused without waiting";
  stop = true;
  for (std::thread& waiter : waiters) waiter.join();
  for (const absl::Status& result : results) EXPECT_TRUE(absl::IsCancelled(result)) << result;
  // The slots are free again: one more waiter is admitted (and waits out its time).
  auto admitted = locker_->Lock(absl::Milliseconds(300), NeverCancelled);
  EXPECT_TRUE(absl::IsAborted(admitted.status())) << admitted.status();
  EXPECT_THAT(std::string(admitted.status().message()), ::testing::HasSubstr("still running"));
}

TEST_F(PgApplyLockTest, AWaiterWhoseCallerWentAwayStopsWaiting) {
  auto held = locker_->Lock(absl::Seconds(1), NeverCancelled);
  ASSERT_TRUE(held.ok()) << held.status();
  absl::Notification gone;
  absl::StatusOr<std::unique_ptr<ApplyLock>> waited = absl::UnknownError("not run");
  absl::Time returned;
  std::thread waiter([&] {
    waited = locker_->Lock(absl::Seconds(60), [&gone] { return gone.HasBeenNotified(); });
    returned = absl::Now();
  });
  const absl::Time patience = absl::Now() + absl::Seconds(10);
  int waiting = 0;
  while ((waiting = WaitingForTheLock(url())) < 1 && absl::Now() < patience) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(waiting, 1);
  const absl::Time cancelled_at = absl::Now();
  gone.Notify();
  waiter.join();
  EXPECT_TRUE(absl::IsCancelled(waited.status())) << waited.status();
  EXPECT_LT(returned - cancelled_at, absl::Seconds(1));
  EXPECT_EQ(WaitingForTheLock(url()), 0) << "the database still has the waiter queued";
}

}  // namespace
}  // namespace pbx
