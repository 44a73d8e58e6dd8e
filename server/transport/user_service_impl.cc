#include "server/transport/user_service_impl.h"

#include "server/core/field_violations.h"
#include "server/transport/call_pipeline.h"
#include "server/transport/proto_convert.h"
#include "server/transport/status_mapping.h"

namespace pbx {

grpc::Status UserServiceImpl::CreateUser(grpc::ServerContext* context,
                                         const v1::CreateUserRequest* request,
                                         v1::CreateUserResponse* response) {
  const std::optional<ChangeActor> actor = ChangeActorOf(*context);
  if (!actor) return NoCallerStatus();
  absl::StatusOr<CreatedUser> created =
      operations_.CreateUser(FromProto(*request), request->request_id(), *actor);
  if (!created.ok()) return ToGrpcStatus(created.status());
  ToProto(*created, response);
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

grpc::Status UserServiceImpl::DeleteUser(grpc::ServerContext* context,
                                         const v1::DeleteUserRequest* request,
                                         v1::DeleteUserResponse*) {
  const std::optional<ChangeActor> actor = ChangeActorOf(*context);
  if (!actor) return NoCallerStatus();
  return ToGrpcStatus(operations_.DeleteUser(request->id(), *actor));
}

grpc::Status UserServiceImpl::GetSipCredentials(grpc::ServerContext* context,
                                                const v1::GetSipCredentialsRequest* request,
                                                v1::GetSipCredentialsResponse* response) {
  const std::optional<ChangeActor> actor = ChangeActorOf(*context);
  if (!actor) return NoCallerStatus();
  absl::StatusOr<SipCredentials> credentials =
      operations_.GetSipCredentials(request->id(), *actor);
  if (!credentials.ok()) return ToGrpcStatus(credentials.status());
  ToProto(*credentials, response->mutable_sip_credentials());
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::UpdateUser(grpc::ServerContext* context,
                                         const v1::UpdateUserRequest* request,
                                         v1::UpdateUserResponse* response) {
  const std::optional<ChangeActor> actor = ChangeActorOf(*context);
  if (!actor) return NoCallerStatus();
  const std::vector<std::string> paths(request->update_mask().paths().begin(),
                                       request->update_mask().paths().end());
  const std::string& id = request->id().empty() ? request->user().id() : request->id();
  absl::StatusOr<UserRecord> user =
      operations_.UpdateUser(id, paths, UpdateValuesFromProto(request->user()), *actor);
  if (!user.ok()) return ToGrpcStatus(user.status());
  ToProto(*user, response->mutable_user());
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::RotateSipCredentials(grpc::ServerContext* context,
                                                   const v1::RotateSipCredentialsRequest* request,
                                                   v1::RotateSipCredentialsResponse* response) {
  const std::optional<ChangeActor> actor = ChangeActorOf(*context);
  if (!actor) return NoCallerStatus();
  absl::StatusOr<SipCredentials> credentials =
      operations_.RotateSipCredentials(request->id(), *actor);
  if (!credentials.ok()) return ToGrpcStatus(credentials.status());
  ToProto(*credentials, response->mutable_sip_credentials());
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::BatchCreateUsers(grpc::ServerContext* context,
                                               const v1::BatchCreateUsersRequest* request,
                                               v1::BatchCreateUsersResponse* response) {
  const std::optional<ChangeActor> actor = ChangeActorOf(*context);
  if (!actor) return NoCallerStatus();
  std::vector<NewUser> users;
  users.reserve(request->requests_size());
  std::vector<FieldViolation> nested_request_ids;
  for (int i = 0; i < request->requests_size(); ++i) {
    if (!request->requests(i).request_id().empty()) {
      nested_request_ids.push_back({absl::StrCat("requests[", i, "].request_id"),
                                    "must be empty: the batch's request_id covers it"});
    }
    users.push_back(FromProto(request->requests(i)));
  }
  if (!nested_request_ids.empty()) {
    return ToGrpcStatus(InvalidFieldsError("invalid batch", nested_request_ids));
  }
  absl::StatusOr<std::vector<CreatedUser>> created = operations_.BatchCreateUsers(
      users, request->request_id(), request->validate_only(), *actor);
  if (!created.ok()) return ToGrpcStatus(created.status());
  response->mutable_users()->Reserve(static_cast<int>(created->size()));
  for (const CreatedUser& user : *created) ToProto(user, response->add_users());
  return grpc::Status::OK;
}

}  // namespace pbx
