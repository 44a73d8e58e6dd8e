#ifndef PBX_SERVER_TRANSPORT_CALL_AUTHENTICATOR_H_
#define PBX_SERVER_TRANSPORT_CALL_AUTHENTICATOR_H_

#include <functional>
#include <optional>

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "server/core/api_key.h"
#include "server/observability/portal_metrics.h"
#include "server/transport/method_roles.h"

namespace pbx {

// The first stage of the per-call pipeline: who is calling, and may they
// call this method. It runs before a call reaches any handler (gRPC's server
// auth filter calls it with the call's metadata), so a refused call runs no
// code of ours:
//  - UNAUTHENTICATED when `authorization: Bearer <token>` is missing,
//    malformed, unknown or revoked, with one message whatever the reason;
//  - PERMISSION_DENIED when the key's role is below the method's
//    (pbx.v1.required_role);
//  - else the caller's key is attached to the call (CallerOf reads it) and the
//    authorization metadata is consumed, so no handler or log ever sees it.
// Health and reflection pass without a key. A refused call gets its "rpc" log
// line and its metrics here, as the call pipeline never sees it.
class CallAuthenticator : public grpc::AuthMetadataProcessor {
 public:
  using TokenCheck = std::function<absl::StatusOr<Principal>(absl::string_view token)>;

  CallAuthenticator(MethodRoles roles, TokenCheck check_token, PortalMetrics& metrics)
      : roles_(std::move(roles)), check_token_(std::move(check_token)), metrics_(metrics) {}

  // A token unknown to the cache may need a database read.
  bool IsBlocking() const override { return true; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed, OutputMetadata* response) override;

 private:
  grpc::Status Admit(const InputMetadata& metadata, absl::string_view path,
                     grpc::AuthContext* context, OutputMetadata* consumed);

  const MethodRoles roles_;
  const TokenCheck check_token_;
  PortalMetrics& metrics_;
};

// The API key the call was admitted with; nullopt for open methods.
std::optional<Principal> CallerOf(const grpc::ServerContextBase& context);

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_CALL_AUTHENTICATOR_H_
