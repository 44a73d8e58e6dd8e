#include "server/transport/user_service_impl.h"

#include "server/transport/proto_convert.h"
#include "server/transport/status_mapping.h"

namespace pbx {

grpc::Status UserServiceImpl::CreateUser(grpc::ServerContext*,
                                         const v1::CreateUserRequest* request,
                                         v1::CreateUserResponse* response) {
  absl::StatusOr<CreatedUser> created = operations_.CreateUser(FromProto(*request));
  if (!created.ok()) return ToGrpcStatus(created.status());
  ToProto(created->user, response->mutable_user());
  ToProto(created->sip_credentials, response->mutable_sip_credentials());
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::GetUser(grpc::ServerContext*, const v1::GetUserRequest* request,
                                      v1::GetUserResponse* response) {
  absl::StatusOr<UserRecord> user = operations_.GetUser(request->id());
  if (!user.ok()) return ToGrpcStatus(user.status());
  ToProto(*user, response->mutable_user());
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::ListUsers(grpc::ServerContext*, const v1::ListUsersRequest*,
                                        v1::ListUsersResponse* response) {
  absl::StatusOr<std::vector<UserRecord>> users = operations_.ListUsers();
  if (!users.ok()) return ToGrpcStatus(users.status());
  response->mutable_users()->Reserve(static_cast<int>(users->size()));
  for (const UserRecord& user : *users) ToProto(user, response->add_users());
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::DeleteUser(grpc::ServerContext*,
                                         const v1::DeleteUserRequest* request,
                                         v1::DeleteUserResponse*) {
  return ToGrpcStatus(operations_.DeleteUser(request->id()));
}

grpc::Status UserServiceImpl::GetSipCredentials(grpc::ServerContext*,
                                                const v1::GetSipCredentialsRequest* request,
                                                v1::GetSipCredentialsResponse* response) {
  absl::StatusOr<SipCredentials> credentials = operations_.GetSipCredentials(request->id());
  if (!credentials.ok()) return ToGrpcStatus(credentials.status());
  ToProto(*credentials, response->mutable_sip_credentials());
  return grpc::Status::OK;
}

}  // namespace pbx
