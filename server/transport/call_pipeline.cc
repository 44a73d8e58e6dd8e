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

class CallPipeline : public grpc::experimental::Interceptor {
 public:
  CallPipeline(PortalMetrics& metrics, grpc::experimental::ServerRpcInfo& info)
      : metrics_(metrics),
        info_(info),
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
  void Begin(std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    request_id_ = RequestIdFrom(metadata);
    caller_ = CallerOf(*info_.server_context());
    // The handler reads the id from the metadata: leave it only the valid one.
    // The string_refs point into this object, which lives as long as the call.
    metadata.erase(kRequestIdMetadataKey);
    metadata.emplace(kRequestIdMetadataKey, request_id_);
    log_scope_.emplace(request_id_);
  }

  void Finish(absl::StatusCode code) {
    finished_ = true;
    RecordCall(metrics_, method_, code, absl::Now() - start_, request_id_, caller_);
    log_scope_.reset();
  }

  PortalMetrics& metrics_;
  grpc::experimental::ServerRpcInfo& info_;
  const std::string method_;
  std::optional<Principal> caller_;
  const absl::Time start_ = absl::Now();
  std::string request_id_;
  std::optional<ScopedLogRequestId> log_scope_;
  bool finished_ = false;
};

}  // namespace

grpc::experimental::Interceptor* CallPipelineFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallPipeline(metrics_, *info);
}

}  // namespace pbx
