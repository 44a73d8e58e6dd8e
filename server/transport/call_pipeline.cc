#include "server/transport/call_pipeline.h"

#include <optional>
#include <string>

#include <google/protobuf/descriptor.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/common/log.h"
#include "server/transport/request_id.h"

namespace pbx {
namespace {

using grpc::experimental::InterceptionHookPoints;

// gRPC hands interceptors the path the caller asked for even when no service
// has it (the call then ends UNIMPLEMENTED). Only methods compiled into this
// binary keep their name.
std::string BoundedMethodName(const char* method) {
  if (method == nullptr) return "unknown";
  // "/pbx.v1.UserService/CreateUser" -> "pbx.v1.UserService.CreateUser"
  const std::string qualified =
      absl::StrReplaceAll(absl::StripPrefix(method, "/"), {{"/", "."}});
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(qualified) ==
      nullptr) {
    return "unknown";
  }
  return method;
}

class CallPipeline : public grpc::experimental::Interceptor {
 public:
  CallPipeline(PortalMetrics& metrics, const char* method)
      : metrics_(metrics), method_(BoundedMethodName(method)) {}

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
    // The handler reads the id from the metadata: leave it only the valid one.
    // The string_refs point into this object, which lives as long as the call.
    metadata.erase(kRequestIdMetadataKey);
    metadata.emplace(kRequestIdMetadataKey, request_id_);
    log_scope_.emplace(request_id_);
  }

  void Finish(absl::StatusCode code) {
    finished_ = true;
    const absl::Duration latency = absl::Now() - start_;
    metrics_.RecordRpc(method_, code, latency);
    LogInfo("rpc", {{"method", method_},
                    {"code", absl::StatusCodeToString(code)},
                    {"duration_ms", absl::StrCat(absl::ToDoubleMilliseconds(latency))}});
    log_scope_.reset();
  }

  PortalMetrics& metrics_;
  const std::string method_;
  const absl::Time start_ = absl::Now();
  std::string request_id_;
  std::optional<ScopedLogRequestId> log_scope_;
  bool finished_ = false;
};

}  // namespace

grpc::experimental::Interceptor* CallPipelineFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallPipeline(metrics_, info->method());
}

}  // namespace pbx
