#ifndef PBX_SERVER_TRANSPORT_USER_SERVICE_IMPL_H_
#define PBX_SERVER_TRANSPORT_USER_SERVICE_IMPL_H_

#include "pbx/v1/user_service.grpc.pb.h"
#include "server/users/user_operations.h"

namespace pbx {

// Decodes, calls UserOperations, encodes; nothing else lives here.
class UserServiceImpl final : public v1::UserService::Service {
 public:
  explicit UserServiceImpl(UserOperations& operations) : operations_(operations) {}

  grpc::Status CreateUser(grpc::ServerContext* context,
                          const v1::CreateUserRequest* request,
                          v1::CreateUserResponse* response) override;
  grpc::Status GetUser(grpc::ServerContext* context,
                       const v1::GetUserRequest* request,
                       v1::GetUserResponse* response) override;
  grpc::Status ListUsers(grpc::ServerContext* context,
                         const v1::ListUsersRequest* request,
                         v1::ListUsersResponse* response) override;
  grpc::Status DeleteUser(grpc::ServerContext* context,
                          const v1::DeleteUserRequest* request,
                          v1::DeleteUserResponse* response) override;
  grpc::Status GetSipCredentials(grpc::ServerContext* context,
                                 const v1::GetSipCredentialsRequest* request,
                                 v1::GetSipCredentialsResponse* response) override;
  grpc::Status UpdateUser(grpc::ServerContext* context, const v1::UpdateUserRequest* request,
                          v1::UpdateUserResponse* response) override;
  grpc::Status RotateSipCredentials(grpc::ServerContext* context,
                                    const v1::RotateSipCredentialsRequest* request,
                                    v1::RotateSipCredentialsResponse* response) override;
  grpc::Status BatchCreateUsers(grpc::ServerContext* context,
                                const v1::BatchCreateUsersRequest* request,
                                v1::BatchCreateUsersResponse* response) override;

 private:
  UserOperations& operations_;
};

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_USER_SERVICE_IMPL_H_
