// PgPool's monitoring snapshot against a real PostgreSQL: connections in use
// and idle, and the waits for a free one.
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/store/pg_pool.h"
#include "tests/integration/database_fixture.h"

namespace pbx {
namespace {

using PgPoolStatsTest = testing::DatabaseTest;

TEST_F(PgPoolStatsTest, CountsConnectionsInUseIdleAndTheWaitsForOne) {
  PgPoolOptions options{database_->url(), 1};
  options.acquire_timeout = absl::Milliseconds(200);
  PgPool pool(options);
  pool.MarkSchemaReady();
  PgPoolStats stats = pool.stats();
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.idle, 0);
  EXPECT_EQ(stats.max, 1);

  // One request holds the only connection...
  absl::Notification holding, release;
  std::thread holder([&] {
    EXPECT_TRUE(pool.Run([&](pqxx::connection&) {
                      holding.Notify();
                      release.WaitForNotification();
                      return absl::OkStatus();
                    }).ok());
  });
  holding.WaitForNotification();
  stats = pool.stats();
  EXPECT_EQ(stats.in_use, 1);
  EXPECT_EQ(stats.idle, 0);
  EXPECT_EQ(stats.acquire_waits, 0);

  // ...so the next one waits in vain...
  EXPECT_EQ(pool.Run([](pqxx::connection&) { return absl::OkStatus(); }).code(),
            absl::StatusCode::kUnavailable);
  stats = pool.stats();
  EXPECT_EQ(stats.acquire_waits, 1);
  EXPECT_EQ(stats.acquire_timeouts, 1);
  EXPECT_GE(stats.acquire_wait_time, absl::Milliseconds(190));

  // ...and one that waits while it is handed back gets it.
  std::thread waiter([&] {
    EXPECT_TRUE(pool.Run([](pqxx::connection&) { return absl::OkStatus(); }).ok());
  });
  absl::SleepFor(absl::Milliseconds(50));
  release.Notify();
  holder.join();
  waiter.join();
  stats = pool.stats();
  EXPECT_EQ(stats.acquire_waits, 2);
  EXPECT_EQ(stats.acquire_timeouts, 1);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.idle, 1);
}

}  // namespace
}  // namespace pbx
