#ifndef PBX_SERVER_TRANSPORT_CALL_AUTHENTICATOR_H_
#define PBX_SERVER_TRANSPORT_CALL_AUTHENTICATOR_H_

#include <functional>
#include <map>

#include <grpcpp/security/auth_metadata_processor.h>

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
//  - else the call goes on to the call pipeline (call_pipeline.h), which
//    names the caller for the handlers.
// It attaches nothing to the call: gRPC 1.51 hands the processor the
// connection's auth context, shared by every call on that connection (the
// gateway sends every REST caller's calls over one), so a property added here
// would leak to other calls and race with them.
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
  grpc::Status Admit(const InputMetadata& metadata, absl::string_view path);

  const MethodRoles roles_;
  const TokenCheck check_token_;
  PortalMetrics& metrics_;
};

// Where callers put "Bearer <token>".
inline constexpr char kAuthorizationMetadataKey[] = "authorization";

// The bearer token in an `authorization` metadata value ("Bearer <token>");
// empty when there is none.
absl::string_view BearerToken(absl::string_view authorization);

// The first value of `key` in a call's metadata; empty when there is none.
absl::string_view MetadataValue(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                absl::string_view key);

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_CALL_AUTHENTICATOR_H_
