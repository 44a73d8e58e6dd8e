#include "server/transport/request_context.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/core/sip_secret.h"

namespace pbx {
namespace {

constexpr size_t kMaxRequestIdChars = 128;
constexpr size_t kNewRequestIdBytes = 16;

bool IsRequestIdChar(char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
}

}  // namespace

bool IsValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdChars) return false;
  for (char c : id) {
    if (!IsRequestIdChar(c)) return false;
  }
  return true;
}

std::string NewRequestId() { return RandomHex(kNewRequestIdBytes); }

std::string RequestIdOf(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find(kRequestIdMetadataKey); it != metadata.end()) {
    absl::string_view sent(it->second.data(), it->second.size());
    if (IsValidRequestId(sent)) return std::string(sent);
  }
  return NewRequestId();
}

RequestContext::RequestContext(grpc::ServerContext& context, absl::string_view method)
    : request_id_(RequestIdOf(context)),
      method_(method),
      start_(absl::Now()),
      log_scope_(request_id_) {
  context.AddInitialMetadata(kRequestIdMetadataKey, request_id_);
}

grpc::Status RequestContext::Finish(grpc::Status status) const {
  LogInfo("rpc",
          {{"method", method_},
           {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()))},
           {"duration_ms", absl::StrCat(absl::ToDoubleMilliseconds(absl::Now() - start_))}});
  return status;
}

}  // namespace pbx
