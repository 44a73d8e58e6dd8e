#ifndef PBX_SERVER_TRANSPORT_REQUEST_ID_H_
#define PBX_SERVER_TRANSPORT_REQUEST_ID_H_

#include <map>
#include <string>

#include <grpcpp/server_context.h>

#include "absl/strings/string_view.h"

namespace pbx {

// The metadata key (and, at the gateway, the HTTP header) of the request id.
inline constexpr char kRequestIdMetadataKey[] = "x-request-id";

// The id a caller may choose: 1-128 of [A-Za-z0-9._:-], the same rule as the
// gateway's. Anything else could forge JSON or log lines, so it is replaced.
bool IsValidRequestId(absl::string_view id);

// 32 hex digits from the kernel CSPRNG: unique enough to find one request
// among all, and valid by the rule above.
std::string NewRequestId();

// The caller's x-request-id in `metadata` when it is valid, else a new one.
std::string RequestIdFrom(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// The call's request id: the x-request-id metadata, which the call pipeline
// has already made valid (the caller's own, or a new one); a new id when the
// call did not go through the pipeline.
std::string RequestIdOf(const grpc::ServerContext& context);

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_REQUEST_ID_H_
