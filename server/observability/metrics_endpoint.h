#ifndef PBX_SERVER_OBSERVABILITY_METRICS_ENDPOINT_H_
#define PBX_SERVER_OBSERVABILITY_METRICS_ENDPOINT_H_

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include "absl/status/statusor.h"

namespace pbx {

// The HTTP listener that serves GET /metrics in the Prometheus text format.
// It answers from its own threads, so a scrape never takes a gRPC thread.
class MetricsEndpoint {
 public:
  // `listen` is IPv4 address:port ("127.0.0.1:9464"; port 0 picks a free
  // one): Debian's civetweb is built without IPv6. UNAVAILABLE when it cannot
  // be bound. The collectables must outlive the endpoint.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen,
      const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  // Stops listening; returns in milliseconds rather than civetweb's usual
  // second or two (see metrics_endpoint.cc).
  ~MetricsEndpoint();

  int port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer, std::string host, int port)
      : exposer_(std::move(exposer)), host_(std::move(host)), port_(port) {}

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string host_;  // where a local client reaches the listener
  int port_;
};

}  // namespace pbx

#endif  // PBX_SERVER_OBSERVABILITY_METRICS_ENDPOINT_H_
