#include "server/transport/metrics_interceptor.h"

#include <string>

#include <google/protobuf/descriptor.h>

#include "absl/status/status.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace pbx {
namespace {

using grpc::experimental::InterceptionHookPoints;

// gRPC hands interceptors the path the caller asked for even when no service
// has it (the call then ends UNIMPLEMENTED). Only methods compiled into this
// binary keep their name, so callers cannot mint new label values.
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

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(PortalMetrics& metrics, const char* method)
      : metrics_(metrics), method_(BoundedMethodName(method)) {}

  ~MetricsInterceptor() override {
    if (!recorded_) Record(absl::StatusCode::kCancelled);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(static_cast<absl::StatusCode>(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  void Record(absl::StatusCode code) {
    recorded_ = true;
    metrics_.RecordRpc(method_, code, absl::Now() - start_);
  }

  PortalMetrics& metrics_;
  const std::string method_;
  const absl::Time start_ = absl::Now();
  bool recorded_ = false;
};

}  // namespace

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new MetricsInterceptor(metrics_, info->method());
}

}  // namespace pbx
