#ifndef PBX_SERVER_TRANSPORT_REQUEST_CONTEXT_H_
#define PBX_SERVER_TRANSPORT_REQUEST_CONTEXT_H_

#include <string>
#include <type_traits>
#include <utility>

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/log.h"

namespace pbx {

// The metadata key (and, at the gateway, the HTTP header) of the request id.
inline constexpr char kRequestIdMetadataKey[] = "x-request-id";

// The id a caller may choose: 1-128 of [A-Za-z0-9._:-], the same rule as the
// gateway's. Anything else could forge JSON or log lines, so it is replaced.
bool IsValidRequestId(absl::string_view id);

// 32 hex digits from the kernel CSPRNG: unique enough to find one request
// among all, and valid by the rule above.
std::string NewRequestId();

// The caller's x-request-id when it is valid, else a new one.
std::string RequestIdOf(const grpc::ServerContext& context);

// One RPC as the server sees it: its request id is sent back as initial
// metadata x-request-id and tags every log line of this thread until the
// object dies, and Finish logs how the RPC ended.
class RequestContext {
 public:
  RequestContext(grpc::ServerContext& context, absl::string_view method);

  const std::string& request_id() const { return request_id_; }

  // Logs one "rpc" line (method, code, duration) and returns `status`.
  grpc::Status Finish(grpc::Status status) const;

 private:
  const std::string request_id_;
  const std::string method_;
  const absl::Time start_;
  const ScopedLogRequestId log_scope_;
};

// Runs one RPC handler inside its RequestContext; the handler takes the
// request id (const std::string&) or nothing, and returns the grpc::Status.
template <typename Handler>
grpc::Status ServeRpc(grpc::ServerContext& context, absl::string_view method,
                      Handler&& handler) {
  RequestContext rpc(context, method);
  if constexpr (std::is_invocable_v<Handler&, const std::string&>) {
    return rpc.Finish(handler(rpc.request_id()));
  } else {
    return rpc.Finish(handler());
  }
}

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_REQUEST_CONTEXT_H_
