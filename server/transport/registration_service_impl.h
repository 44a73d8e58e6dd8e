#ifndef PBX_SERVER_TRANSPORT_REGISTRATION_SERVICE_IMPL_H_
#define PBX_SERVER_TRANSPORT_REGISTRATION_SERVICE_IMPL_H_

#include "pbx/v1/registration_service.grpc.pb.h"
#include "server/registrations/registration_operations.h"

namespace pbx {

// Decodes, calls RegistrationOperations, encodes; nothing else lives here.
class RegistrationServiceImpl final : public v1::RegistrationService::Service {
 public:
  explicit RegistrationServiceImpl(RegistrationOperations& operations)
      : operations_(operations) {}

  grpc::Status GetRegistration(grpc::ServerContext* context,
                               const v1::GetRegistrationRequest* request,
                               v1::GetRegistrationResponse* response) override;
  grpc::Status ListRegistrations(grpc::ServerContext* context,
                                 const v1::ListRegistrationsRequest* request,
                                 v1::ListRegistrationsResponse* response) override;

 private:
  RegistrationOperations& operations_;
};

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_REGISTRATION_SERVICE_IMPL_H_
