#ifndef PBX_SERVER_OBSERVABILITY_STATE_COLLECTOR_H_
#define PBX_SERVER_OBSERVABILITY_STATE_COLLECTOR_H_

#include <functional>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/observability/bounded_reader.h"
#include "server/store/pg_pool.h"

namespace pbx {

// State read when Prometheus scrapes, so it is exact at that moment rather
// than as of some earlier refresh: the database pool's use, and the
// extensions allocated and free.
//
// Counting extensions takes a database query, which must not hold a scrape up
// while the database is slow or down (the pool alone may wait 5 s for a
// connection): the count runs on its own thread and a scrape waits at most
// `count_patience` for it. Without a fresh count the extension gauges are
// left out, never reported from an older count, and
// pbx_extensions_count_success says so.
class StateCollector : public prometheus::Collectable {
 public:
  StateCollector(std::function<PgPoolStats()> pool_stats,
                 std::function<absl::StatusOr<int>()> count_allocated_extensions,
                 absl::Duration count_patience);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::function<PgPoolStats()> pool_stats_;
  mutable BoundedReader<int> allocated_extensions_;
};

}  // namespace pbx

#endif  // PBX_SERVER_OBSERVABILITY_STATE_COLLECTOR_H_
