// The scrape-time state and the bounded wait behind it. No database.
#include <atomic>
#include <string>


#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/exposition.h"
#include "server/observability/bounded_reader.h"
#include "server/observability/portal_metrics.h"
#include "server/observability/state_collector.h"

namespace pbx {
namespace {

using testing::Exposition;
using ::testing::HasSubstr;
using ::testing::Not;

// ---------------------------------------------------------------- BoundedReader

TEST(BoundedReader, EveryCallGetsTheResultOfAReadStartedAfterIt) {
  std::atomic<int> reads{0};
  BoundedReader<int> reader([&]() -> absl::StatusOr<int> { return ++reads; },
                            absl::Seconds(5));
  EXPECT_EQ(*reader.ReadFresh(), 1);
  EXPECT_EQ(*reader.ReadFresh(), 2);
}

TEST(BoundedReader, PassesErrorsOn) {
  BoundedReader<int> reader([]() -> absl::StatusOr<int> { return absl::UnavailableError("down"); },
                            absl::Seconds(5));
  EXPECT_EQ(reader.ReadFresh().status().code(), absl::StatusCode::kUnavailable);
}

TEST(BoundedReader, ASlowReadTimesCallersOutWithoutPilingUpReads) {
  std::atomic<int> reads{0};
  absl::Notification release;
  BoundedReader<int> reader(
      [&]() -> absl::StatusOr<int> {
        const int n = ++reads;
        if (n == 1) release.WaitForNotification();
        return n;
      },
      absl::Milliseconds(50));

  const absl::Time start = absl::Now();
  EXPECT_EQ(reader.ReadFresh().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(reader.ReadFresh().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(reads.load(), 1) << "a second read started while the first still ran";

  release.Notify();
  // The late result of read 1 predates this call, so it is not the answer.
  // (Read 2, asked for by the second call, may run first and predate it too.)
  absl::StatusOr<int> fresh = reader.ReadFresh();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_GE(*fresh, 2);
  EXPECT_LE(reads.load(), 3);
}

// ---------------------------------------------------------------- StateCollector

TEST(StateCollector, ReportsPoolUseAndExtensionsAtScrapeTime) {
  PgPoolStats pool;
  pool.in_use = 3;
  pool.idle = 2;
  pool.max = 8;
  pool.acquire_waits = 4;
  pool.acquire_wait_time = absl::Milliseconds(1500);
  pool.acquire_timeouts = 1;
  int allocated = 7;
  StateCollector collector([&] { return pool; }, [&]() -> absl::StatusOr<int> { return allocated; },
                           absl::Seconds(5));

  std::string text = Exposition(collector);
  EXPECT_THAT(text, HasSubstr("# TYPE pbx_db_pool_connections gauge"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_connections{state=\"in_use\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_connections{state=\"idle\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_max_connections 8\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE pbx_db_pool_acquire_waits_total counter"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_acquire_waits_total 4\n"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_acquire_wait_seconds_total 1.5\n"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_acquire_timeouts_total 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_count_success 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_allocated 7\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_free 993\n"));

  // Read again at the next scrape, not remembered.
  pool.in_use = 0;
  allocated = 1000;
  text = Exposition(collector);
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_connections{state=\"in_use\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_allocated 1000\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_free 0\n"));
}

TEST(StateCollector, LeavesTheExtensionGaugesOutWhenTheCountFails) {
  int calls = 0;
  PgPoolStats pool;
  pool.max = 8;
  StateCollector collector([&] { return pool; },
                           [&]() -> absl::StatusOr<int> {
                             if (++calls == 1) return 5;
                             return absl::UnavailableError("database down");
                           },
                           absl::Seconds(5));
  EXPECT_THAT(Exposition(collector), HasSubstr("pbx_extensions_allocated 5\n"));

  // Not the 5 from before: no value rather than an old one.
  const std::string text = Exposition(collector);
  EXPECT_THAT(text, HasSubstr("pbx_extensions_count_success 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("pbx_extensions_allocated")));
  EXPECT_THAT(text, Not(HasSubstr("pbx_extensions_free")));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_max_connections 8\n"));
}

TEST(StateCollector, AScrapeWaitsForASlowCountOnlyThatLong) {
  absl::Notification release;
  StateCollector collector([] { return PgPoolStats{}; },
                           [&]() -> absl::StatusOr<int> {
                             release.WaitForNotification();
                             return 1;
                           },
                           absl::Milliseconds(100));
  const absl::Time start = absl::Now();
  const std::string text = Exposition(collector);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_count_success 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("pbx_extensions_allocated")));
  release.Notify();  // lets the collector's destructor join its reader
}

}  // namespace
}  // namespace pbx
