#include "server/core/api_key.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "server/core/sha256.h"

namespace pbx {
namespace {

// base64url of 32 bytes, unpadded.
constexpr size_t kEncodedRandomChars = 43;

bool IsBase64UrlChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_'; }

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kOperator: return "operator";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

std::optional<Role> RoleFromName(absl::string_view name) {
  for (Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

std::string GenerateApiToken(const RandomBytes& random_bytes) {
  uint8_t raw[kApiTokenRandomBytes];
  random_bytes(absl::MakeSpan(raw));
  return absl::StrCat(kApiTokenPrefix,
                      absl::WebSafeBase64Escape(absl::string_view(
                          reinterpret_cast<const char*>(raw), sizeof raw)));
}

bool IsWellFormedApiToken(absl::string_view token) {
  if (!absl::ConsumePrefix(&token, kApiTokenPrefix) || token.size() != kEncodedRandomChars) {
    return false;
  }
  for (char c : token) {
    if (!IsBase64UrlChar(c)) return false;
  }
  return true;
}

std::string ApiTokenHash(absl::string_view token) { return Sha256Hex(token); }

}  // namespace pbx
