#ifndef PBX_SERVER_TRANSPORT_STATUS_MAPPING_H_
#define PBX_SERVER_TRANSPORT_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace pbx {

// The one place where internal statuses become gRPC statuses. The core's error
// details (field violations, ErrorInfo) travel as google.rpc.BadRequest and
// google.rpc.ErrorInfo in google.rpc.Status details, which grpc-gateway renders
// in its JSON error body.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_STATUS_MAPPING_H_
