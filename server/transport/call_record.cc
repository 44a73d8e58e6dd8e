#include "server/transport/call_record.h"

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "server/common/log.h"

namespace pbx {

std::string BoundedMethodName(absl::string_view path) {
  // "/pbx.v1.UserService/CreateUser" -> "pbx.v1.UserService.CreateUser"
  const std::string qualified = absl::StrReplaceAll(absl::StripPrefix(path, "/"), {{"/", "."}});
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(qualified) ==
      nullptr) {
    return "unknown";
  }
  return std::string(path);
}

void RecordCall(PortalMetrics& metrics, const std::string& method, absl::StatusCode code,
                absl::Duration latency, const std::string& request_id,
                const std::optional<Principal>& caller) {
  metrics.RecordRpc(method, code, latency);
  ScopedLogRequestId scope(request_id);
  const std::string duration_ms = absl::StrCat(absl::ToDoubleMilliseconds(latency));
  if (caller) {
    LogInfo("rpc", {{"method", method},
                    {"code", absl::StatusCodeToString(code)},
                    {"duration_ms", duration_ms},
                    {"key_name", caller->key_name},
                    {"key_id", caller->key_id}});
  } else {
    LogInfo("rpc", {{"method", method},
                    {"code", absl::StatusCodeToString(code)},
                    {"duration_ms", duration_ms}});
  }
}

}  // namespace pbx
