#ifndef PBX_SERVER_CORE_API_KEY_H_
#define PBX_SERVER_CORE_API_KEY_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/sip_secret.h"

namespace pbx {

// What a caller may do, each role including the ones below it.
//   viewer:   read users, Apply status and audits
//   operator: viewer + create and delete users, read SIP credentials, Apply
//   admin:    operator + manage API keys
enum class Role { kViewer = 1, kOperator = 2, kAdmin = 3 };

absl::string_view RoleName(Role role);  // "viewer", "operator", "admin"
std::optional<Role> RoleFromName(absl::string_view name);
// Whether a caller holding `held` may call a method that requires `required`.
constexpr bool Grants(Role held, Role required) {
  return static_cast<int>(held) >= static_cast<int>(required);
}

// An API key's token: the prefix, so secret scanners can spot a leaked one,
// and 32 bytes (256 bits) from the CSPRNG, base64url without padding.
inline constexpr absl::string_view kApiTokenPrefix = "pbx_";
inline constexpr size_t kApiTokenRandomBytes = 32;

std::string GenerateApiToken(const RandomBytes& random_bytes = SystemRandomBytes);

// Whether `token` has the form GenerateApiToken gives (checked before any
// lookup, so malformed input never reaches the cache or the database).
bool IsWellFormedApiToken(absl::string_view token);

// What the store keeps of a token: its SHA-256, as 64 hex digits. A token has
// 256 bits of entropy, so a fast hash is enough: no dictionary to guess from.
std::string ApiTokenHash(absl::string_view token);

// Who is calling: the API key a token belongs to.
struct Principal {
  std::string key_id;
  std::string key_name;
  Role role = Role::kViewer;
};

// An API key as stored and listed (never its token).
struct ApiKeyRecord {
  std::string id;
  std::string name;
  Role role = Role::kViewer;
  absl::Time created_at;
  std::optional<absl::Time> last_used_at;
};

// A key just created: the one moment its token is known.
struct CreatedApiKey {
  ApiKeyRecord key;
  std::string token;
};

}  // namespace pbx

#endif  // PBX_SERVER_CORE_API_KEY_H_
