#ifndef PBX_SERVER_TRANSPORT_CALL_PIPELINE_H_
#define PBX_SERVER_TRANSPORT_CALL_PIPELINE_H_

#include <functional>
#include <optional>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include "absl/strings/string_view.h"
#include "server/core/api_key.h"
#include "server/core/user_changes.h"
#include "server/observability/portal_metrics.h"

namespace pbx {

// The one pipeline every call to the server goes through (ours, health and
// reflection alike), so no handler repeats any of it. Its first stage, the
// CallAuthenticator on the listener's credentials, has admitted the call (or
// refused it, and then the call never gets here); this second stage does:
//  - the caller: the API key of the call's bearer token, for the handlers
//    (CallerOf); the token itself is taken out of the call's metadata, so no
//    handler or log line ever holds it;
//  - the request id: the caller's x-request-id when valid, else a new one. It
//    replaces what the caller sent in the call's metadata (handlers read it
//    with RequestIdOf) and goes back to the caller as x-request-id initial
//    metadata;
//  - every line logged while the call is handled carries it;
//  - one "rpc" log line per call: method, final code, duration, the caller's key;
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
  // The key of a token the authenticator admitted, from memory only
  // (TokenVerifier::Cached): nothing on this path reads the database again.
  using CallerLookup = std::function<std::optional<Principal>(absl::string_view token)>;

  CallPipelineFactory(PortalMetrics& metrics, CallerLookup find_caller)
      : metrics_(metrics), find_caller_(std::move(find_caller)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  PortalMetrics& metrics_;
  CallerLookup find_caller_;
};

// The API key the call came with, as the call pipeline named it; nullopt for
// a call without a valid one (open methods).
std::optional<Principal> CallerOf(const grpc::ServerContextBase& context);

// Who a change is recorded as made by: the caller's key and the call's
// request id; nullopt without a caller.
std::optional<ChangeActor> ChangeActorOf(const grpc::ServerContext& context);

// The grpc::Status a handler answers when ChangeActorOf has none (a call the
// pipeline admitted always has one).
grpc::Status NoCallerStatus();

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_CALL_PIPELINE_H_
