#ifndef PBX_SERVER_TRANSPORT_AUDIT_SERVICE_IMPL_H_
#define PBX_SERVER_TRANSPORT_AUDIT_SERVICE_IMPL_H_

#include "pbx/v1/audit_service.grpc.pb.h"
#include "server/users/user_operations.h"

namespace pbx {

// The change audit of users; decodes, calls UserOperations, encodes.
class AuditServiceImpl final : public v1::AuditService::Service {
 public:
  explicit AuditServiceImpl(UserOperations& operations) : operations_(operations) {}

  grpc::Status ListAuditEvents(grpc::ServerContext* context,
                               const v1::ListAuditEventsRequest* request,
                               v1::ListAuditEventsResponse* response) override;

 private:
  UserOperations& operations_;
};

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_AUDIT_SERVICE_IMPL_H_
