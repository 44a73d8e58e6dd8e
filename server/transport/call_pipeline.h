#ifndef PBX_SERVER_TRANSPORT_CALL_PIPELINE_H_
#define PBX_SERVER_TRANSPORT_CALL_PIPELINE_H_

#include <grpcpp/support/server_interceptor.h>

#include "server/observability/portal_metrics.h"

namespace pbx {

// The one pipeline every call to the server goes through (ours, health and
// reflection alike), so no handler repeats any of it:
//  - the request id: the caller's x-request-id when valid, else a new one. It
//    replaces what the caller sent in the call's metadata (handlers read it
//    with RequestIdOf) and goes back to the caller as x-request-id initial
//    metadata;
//  - every line logged while the call is handled carries it;
//  - one "rpc" log line per call: method, final code, duration;
//  - the metrics: method, final code and latency in PortalMetrics, recorded
//    before the status goes out, so a client that has its answer finds the
//    call counted; a call cancelled before any status was sent counts as
//    CANCELLED.
// The method is the one gRPC names ("/pbx.v1.UserService/CreateUser"), the
// same in logs and metrics; a method no service of this binary has is
// "unknown", so callers cannot mint label values.
//
// Relies on the synchronous server running a call's interceptors and its
// handler on one thread (the log lines' request id is thread-local).
class CallPipelineFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallPipelineFactory(PortalMetrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  PortalMetrics& metrics_;
};

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_CALL_PIPELINE_H_
