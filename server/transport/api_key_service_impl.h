#ifndef PBX_SERVER_TRANSPORT_API_KEY_SERVICE_IMPL_H_
#define PBX_SERVER_TRANSPORT_API_KEY_SERVICE_IMPL_H_

#include "pbx/v1/api_key_service.grpc.pb.h"
#include "server/keys/key_operations.h"

namespace pbx {

// Decodes, calls KeyOperations, encodes.
class ApiKeyServiceImpl final : public v1::ApiKeyService::Service {
 public:
  explicit ApiKeyServiceImpl(KeyOperations& operations) : operations_(operations) {}

  grpc::Status CreateApiKey(grpc::ServerContext* context, const v1::CreateApiKeyRequest* request,
                            v1::CreateApiKeyResponse* response) override;
  grpc::Status ListApiKeys(grpc::ServerContext* context, const v1::ListApiKeysRequest* request,
                           v1::ListApiKeysResponse* response) override;
  grpc::Status DeleteApiKey(grpc::ServerContext* context, const v1::DeleteApiKeyRequest* request,
                            v1::DeleteApiKeyResponse* response) override;

 private:
  KeyOperations& operations_;
};

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_API_KEY_SERVICE_IMPL_H_
