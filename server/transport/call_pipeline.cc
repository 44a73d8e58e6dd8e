#include "server/transport/call_pipeline.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "server/common/log.h"
#include "server/transport/call_authenticator.h"
#include "server/transport/call_record.h"
#include "server/transport/request_id.h"

namespace pbx {
namespace {

using grpc::experimental::InterceptionHookPoints;
using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

// Where the caller travels from the pipeline to the handlers, in the call's
// metadata. Whatever a client sends under these keys is removed first.
constexpr char kCallerKeyId[] = "pbx-caller-key-id";
constexpr char kCallerKeyName[] = "pbx-caller-key-name";
constexpr char kCallerRole[] = "pbx-caller-role";

class CallPipeline : public grpc::experimental::Interceptor {
 public:
  CallPipeline(PortalMetrics& metrics, const CallPipelineFactory::CallerLookup& find_caller,
               grpc::experimental::ServerRpcInfo& info)
      : metrics_(metrics),
        find_caller_(find_caller),
        method_(BoundedMethodName(info.method() != nullptr ? info.method() : "")) {}

  ~CallPipeline() override {
    if (!finished_) Finish(absl::StatusCode::kCancelled);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Begin(*methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA) &&
        !request_id_.empty()) {
      methods->GetSendInitialMetadata()->emplace(kRequestIdMetadataKey, request_id_);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Finish(static_cast<absl::StatusCode>(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  // The handlers read the request id and the caller from the call's metadata:
  // leave them only what this pipeline vouches for. The string_refs point into
  // this object, which lives as long as the call.
  void Begin(Metadata& metadata) {
    request_id_ = RequestIdFrom(metadata);
    metadata.erase(kRequestIdMetadataKey);
    metadata.emplace(kRequestIdMetadataKey, request_id_);
    for (const char* key : {kCallerKeyId, kCallerKeyName, kCallerRole}) metadata.erase(key);
    const std::string authorization(MetadataValue(metadata, kAuthorizationMetadataKey));
    metadata.erase(kAuthorizationMetadataKey);
    if (!authorization.empty()) {
      // Checked already by the authenticator; this looks the key up again in
      // memory (gRPC 1.51 gives that stage no safe way to hand it over).
      if (std::optional<Principal> caller = find_caller_(BearerToken(authorization))) {
        caller_ = std::move(*caller);
        role_ = std::string(RoleName(caller_->role));
        metadata.emplace(kCallerKeyId, caller_->key_id);
        metadata.emplace(kCallerKeyName, caller_->key_name);
        metadata.emplace(kCallerRole, role_);
      }
    }
    log_scope_.emplace(request_id_);
  }

  void Finish(absl::StatusCode code) {
    finished_ = true;
    RecordCall(metrics_, method_, code, absl::Now() - start_, request_id_, caller_);
    log_scope_.reset();
  }

  PortalMetrics& metrics_;
  const CallPipelineFactory::CallerLookup& find_caller_;
  const std::string method_;
  std::optional<Principal> caller_;
  std::string role_;
  const absl::Time start_ = absl::Now();
  std::string request_id_;
  std::optional<ScopedLogRequestId> log_scope_;
  bool finished_ = false;
};

}  // namespace

grpc::experimental::Interceptor* CallPipelineFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallPipeline(metrics_, find_caller_, *info);
}

std::optional<Principal> CallerOf(const grpc::ServerContextBase& context) {
  const Metadata& metadata = context.client_metadata();
  Principal caller{std::string(MetadataValue(metadata, kCallerKeyId)),
                   std::string(MetadataValue(metadata, kCallerKeyName)),
                   RoleFromName(MetadataValue(metadata, kCallerRole)).value_or(Role::kViewer)};
  if (caller.key_id.empty()) return std::nullopt;
  return caller;
}

std::optional<ChangeActor> ChangeActorOf(const grpc::ServerContext& context) {
  std::optional<Principal> caller = CallerOf(context);
  if (!caller) return std::nullopt;
  return ChangeActor{std::move(caller->key_id), std::move(caller->key_name), RequestIdOf(context)};
}

grpc::Status NoCallerStatus() {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no API key");
}

}  // namespace pbx
