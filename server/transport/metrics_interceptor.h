#ifndef PBX_SERVER_TRANSPORT_METRICS_INTERCEPTOR_H_
#define PBX_SERVER_TRANSPORT_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "server/observability/portal_metrics.h"

namespace pbx {

// Records every RPC the server handles (ours, health and reflection alike)
// in PortalMetrics: method, final status code and latency, measured from the
// moment the call reached a handler to the moment its status is sent. The
// status is recorded before it goes out, so a client that has its answer
// already finds the call counted; a call cancelled before any status was sent
// counts as CANCELLED. Methods no service of this binary has are counted as
// "unknown".
class MetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(PortalMetrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  PortalMetrics& metrics_;
};

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_METRICS_INTERCEPTOR_H_
