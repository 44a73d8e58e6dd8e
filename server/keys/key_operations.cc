#include "server/keys/key_operations.h"

#include <utility>

#include "server/core/validation.h"

namespace pbx {

absl::StatusOr<CreatedApiKey> KeyOperations::CreateKey(absl::string_view name,
                                                      absl::string_view role_name) {
  absl::StatusOr<NewApiKey> valid = ValidateNewApiKey(name, role_name);
  if (!valid.ok()) return valid.status();
  std::string token = GenerateApiToken(random_bytes_);
  absl::StatusOr<ApiKeyRecord> key = store_.CreateKey(valid->name, valid->role, ApiTokenHash(token));
  if (!key.ok()) return key.status();
  on_change_();
  return CreatedApiKey{std::move(*key), std::move(token)};
}

absl::StatusOr<std::vector<ApiKeyRecord>> KeyOperations::ListKeys() { return store_.ListKeys(); }

absl::Status KeyOperations::RevokeKey(absl::string_view id) {
  absl::StatusOr<std::string> canonical_id = ValidateId(id, "API key");
  if (!canonical_id.ok()) return canonical_id.status();
  absl::Status revoked = store_.RevokeKey(*canonical_id);
  if (revoked.ok()) on_change_();
  return revoked;
}

absl::StatusOr<std::optional<CreatedApiKey>> KeyOperations::CreateFirstAdminKey(
    absl::string_view name, const std::optional<std::string>& given_token) {
  absl::StatusOr<NewApiKey> valid = ValidateNewApiKey(name, RoleName(Role::kAdmin));
  if (!valid.ok()) return valid.status();
  if (given_token && !IsWellFormedApiToken(*given_token)) {
    return absl::InvalidArgumentError("not an API token (pbx_ and 43 characters of base64url)");
  }
  std::string token = given_token ? *given_token : GenerateApiToken(random_bytes_);
  absl::StatusOr<std::optional<ApiKeyRecord>> key =
      store_.CreateFirstAdminKey(valid->name, ApiTokenHash(token));
  if (!key.ok()) return key.status();
  if (!key->has_value()) return std::optional<CreatedApiKey>();
  on_change_();
  return std::optional<CreatedApiKey>(CreatedApiKey{std::move(**key), std::move(token)});
}

}  // namespace pbx
