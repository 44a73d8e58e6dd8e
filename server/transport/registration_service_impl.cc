#include "server/transport/registration_service_impl.h"

#include "server/transport/proto_convert.h"
#include "server/transport/status_mapping.h"

namespace pbx {

grpc::Status RegistrationServiceImpl::GetRegistration(grpc::ServerContext*,
                                                      const v1::GetRegistrationRequest* request,
                                                      v1::GetRegistrationResponse* response) {
  absl::StatusOr<UserRegistration> registration = operations_.GetRegistration(request->id());
  if (!registration.ok()) return ToGrpcStatus(registration.status());
  ToProto(*registration, response->mutable_registration());
  return grpc::Status::OK;
}

grpc::Status RegistrationServiceImpl::ListRegistrations(grpc::ServerContext*,
                                                        const v1::ListRegistrationsRequest*,
                                                        v1::ListRegistrationsResponse* response) {
  absl::StatusOr<std::vector<UserRegistration>> registrations = operations_.ListRegistrations();
  if (!registrations.ok()) return ToGrpcStatus(registrations.status());
  response->mutable_registrations()->Reserve(static_cast<int>(registrations->size()));
  for (const UserRegistration& registration : *registrations) {
    ToProto(registration, response->add_registrations());
  }
  return grpc::Status::OK;
}

}  // namespace pbx
