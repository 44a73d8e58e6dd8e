#ifndef PBX_SERVER_TRANSPORT_APPLY_SERVICE_IMPL_H_
#define PBX_SERVER_TRANSPORT_APPLY_SERVICE_IMPL_H_

#include "pbx/v1/apply_service.grpc.pb.h"

namespace pbx {

// Apply arrives with the Asterisk host seam; until then the RPC exists so the
// API surface is complete, and answers UNIMPLEMENTED.
class ApplyServiceImpl final : public v1::ApplyService::Service {
 public:
  grpc::Status Apply(grpc::ServerContext* context, const v1::ApplyRequest* request,
                     v1::ApplyResponse* response) override;
};

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_APPLY_SERVICE_IMPL_H_
