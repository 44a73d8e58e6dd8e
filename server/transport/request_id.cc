#include "server/transport/request_id.h"

#include <cstdint>

#include "absl/strings/ascii.h"
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

std::string RequestIdFrom(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  if (auto it = metadata.find(kRequestIdMetadataKey); it != metadata.end()) {
    absl::string_view sent(it->second.data(), it->second.size());
    if (IsValidRequestId(sent)) return std::string(sent);
  }
  return NewRequestId();
}

std::string RequestIdOf(const grpc::ServerContext& context) {
  return RequestIdFrom(context.client_metadata());
}

}  // namespace pbx
