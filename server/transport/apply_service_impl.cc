#include "server/transport/apply_service_impl.h"

#include "server/transport/status_mapping.h"

namespace pbx {

grpc::Status ApplyServiceImpl::Apply(grpc::ServerContext*, const v1::ApplyRequest*,
                                     v1::ApplyResponse*) {
  return ToGrpcStatus(absl::UnimplementedError(
      "Apply is not available yet: users are stored but not pushed to Asterisk"));
}

}  // namespace pbx
