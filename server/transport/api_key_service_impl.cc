#include "server/transport/api_key_service_impl.h"

#include "server/transport/proto_convert.h"
#include "server/transport/status_mapping.h"

namespace pbx {

grpc::Status ApiKeyServiceImpl::CreateApiKey(grpc::ServerContext*,
                                             const v1::CreateApiKeyRequest* request,
                                             v1::CreateApiKeyResponse* response) {
  absl::StatusOr<CreatedApiKey> created = operations_.CreateKey(request->name(), request->role());
  if (!created.ok()) return ToGrpcStatus(created.status());
  ToProto(created->key, response->mutable_api_key());
  response->set_token(created->token);
  return grpc::Status::OK;
}

grpc::Status ApiKeyServiceImpl::ListApiKeys(grpc::ServerContext*, const v1::ListApiKeysRequest*,
                                            v1::ListApiKeysResponse* response) {
  absl::StatusOr<std::vector<ApiKeyRecord>> keys = operations_.ListKeys();
  if (!keys.ok()) return ToGrpcStatus(keys.status());
  for (const ApiKeyRecord& key : *keys) ToProto(key, response->add_api_keys());
  return grpc::Status::OK;
}

grpc::Status ApiKeyServiceImpl::DeleteApiKey(grpc::ServerContext*,
                                             const v1::DeleteApiKeyRequest* request,
                                             v1::DeleteApiKeyResponse*) {
  return ToGrpcStatus(operations_.RevokeKey(request->id()));
}

}  // namespace pbx
