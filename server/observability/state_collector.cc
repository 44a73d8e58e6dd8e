#include "server/observability/state_collector.h"

#include <string>
#include <utility>

#include "server/core/extension_pool.h"

namespace pbx {
namespace {

prometheus::MetricFamily Family(std::string name, std::string help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

prometheus::ClientMetric Gauge(double value,
                               std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

prometheus::ClientMetric Counter(double value) {
  prometheus::ClientMetric metric;
  metric.counter.value = value;
  return metric;
}

prometheus::MetricFamily OneGauge(std::string name, std::string help, double value) {
  prometheus::MetricFamily family =
      Family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
  family.metric.push_back(Gauge(value));
  return family;
}

prometheus::MetricFamily OneCounter(std::string name, std::string help, double value) {
  prometheus::MetricFamily family =
      Family(std::move(name), std::move(help), prometheus::MetricType::Counter);
  family.metric.push_back(Counter(value));
  return family;
}

}  // namespace

StateCollector::StateCollector(std::function<PgPoolStats()> pool_stats,
                               std::function<absl::StatusOr<int>()> count_allocated_extensions,
                               absl::Duration count_patience)
    : pool_stats_(std::move(pool_stats)),
      allocated_extensions_(std::move(count_allocated_extensions), count_patience) {}

std::vector<prometheus::MetricFamily> StateCollector::Collect() const {
  std::vector<prometheus::MetricFamily> families;

  const PgPoolStats pool = pool_stats_();
  prometheus::MetricFamily connections =
      Family("pbx_db_pool_connections",
             "Database pool connections by state: in_use (lent out or being opened) or idle",
             prometheus::MetricType::Gauge);
  connections.metric.push_back(Gauge(pool.in_use, {{"state", "in_use"}}));
  connections.metric.push_back(Gauge(pool.idle, {{"state", "idle"}}));
  families.push_back(std::move(connections));
  families.push_back(OneGauge("pbx_db_pool_max_connections",
                              "Size of the database pool (PBX_DB_POOL_SIZE)", pool.max));
  families.push_back(OneCounter("pbx_db_pool_acquire_waits_total",
                                "Requests that found no free database connection and waited",
                                static_cast<double>(pool.acquire_waits)));
  families.push_back(OneCounter("pbx_db_pool_acquire_wait_seconds_total",
                                "Time requests spent waiting for a free database connection",
                                absl::ToDoubleSeconds(pool.acquire_wait_time)));
  families.push_back(OneCounter("pbx_db_pool_acquire_timeouts_total",
                                "Requests refused (UNAVAILABLE) after waiting in vain for a "
                                "database connection",
                                static_cast<double>(pool.acquire_timeouts)));

  const absl::StatusOr<int> allocated = allocated_extensions_.ReadFresh();
  families.push_back(OneGauge("pbx_extensions_count_success",
                              "1 when this scrape counted the extensions, 0 when the database "
                              "did not answer in time and the extension gauges are left out",
                              allocated.ok() ? 1 : 0));
  if (allocated.ok()) {
    families.push_back(OneGauge("pbx_extensions_allocated",
                                "Extensions of the pool 1000-1999 held by users", *allocated));
    families.push_back(OneGauge("pbx_extensions_free",
                                "Extensions of the pool 1000-1999 still free",
                                kExtensionPoolSize - *allocated));
  }
  return families;
}

}  // namespace pbx
