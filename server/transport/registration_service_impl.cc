#include "server/transport/registration_service_impl.h"

#include "server/transport/proto_convert.h"
#include "server/transport/status_mapping.h"

namespace pbx {

grpc::Status RegistrationServiceImpl::GetRegistration(grpc::ServerContext*,
                                                      const v1::GetRegistrationRequest* request,
                                                      v1::GetRegistrationResponse* response) {
  absl::StatusOr<RegistrationLookup> lookup = operations_.GetRegistration(request->id());
  if (!lookup.ok()) return ToGrpcStatus(lookup.status());
  ToProto(lookup->registration, response->mutable_registration());
  for (const RegistrationHost& host : lookup->hosts) ToProto(host, response->add_hosts());
  return grpc::Status::OK;
}

grpc::Status RegistrationServiceImpl::ListRegistrations(grpc::ServerContext*,
                                                        const v1::ListRegistrationsRequest*,
                                                        v1::ListRegistrationsResponse* response) {
  absl::StatusOr<RegistrationListing> listing = operations_.ListRegistrations();
  if (!listing.ok()) return ToGrpcStatus(listing.status());
  response->mutable_registrations()->Reserve(static_cast<int>(listing->registrations.size()));
  for (const UserRegistration& registration : listing->registrations) {
    ToProto(registration, response->add_registrations());
  }
  for (const RegistrationHost& host : listing->hosts) ToProto(host, response->add_hosts());
  return grpc::Status::OK;
}

}  // namespace pbx
