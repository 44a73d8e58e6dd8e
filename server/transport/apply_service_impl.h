#ifndef PBX_SERVER_TRANSPORT_APPLY_SERVICE_IMPL_H_
#define PBX_SERVER_TRANSPORT_APPLY_SERVICE_IMPL_H_

#include "pbx/v1/apply_service.grpc.pb.h"
#include "server/apply/apply_inspection.h"
#include "server/apply/apply_operations.h"

namespace pbx {

// Decodes, calls ApplyOperations (or ApplyInspector), encodes.
class ApplyServiceImpl final : public v1::ApplyService::Service {
 public:
  ApplyServiceImpl(ApplyOperations& operations, ApplyInspector& inspector)
      : operations_(operations), inspector_(inspector) {}

  grpc::Status Apply(grpc::ServerContext* context, const v1::ApplyRequest* request,
                     v1::ApplyResponse* response) override;
  grpc::Status ListApplyAudit(grpc::ServerContext* context,
                              const v1::ListApplyAuditRequest* request,
                              v1::ListApplyAuditResponse* response) override;
  grpc::Status GetApplyStatus(grpc::ServerContext* context,
                              const v1::GetApplyStatusRequest* request,
                              v1::GetApplyStatusResponse* response) override;
  grpc::Status PreviewApply(grpc::ServerContext* context, const v1::PreviewApplyRequest* request,
                            v1::PreviewApplyResponse* response) override;
  grpc::Status GetApplyDrift(grpc::ServerContext* context,
                             const v1::GetApplyDriftRequest* request,
                             v1::GetApplyDriftResponse* response) override;

 private:
  ApplyOperations& operations_;
  ApplyInspector& inspector_;
};

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_APPLY_SERVICE_IMPL_H_
