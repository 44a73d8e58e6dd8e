#ifndef PBX_SERVER_KEYS_KEY_OPERATIONS_H_
#define PBX_SERVER_KEYS_KEY_OPERATIONS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/api_key.h"
#include "server/store/api_key_store.h"

namespace pbx {

// The use cases behind ApiKeyService and the first admin key: each validates
// its input, makes the token, and asks the store. Tokens leave only in a
// CreatedApiKey; the store keeps their hashes.
class KeyOperations {
 public:
  // `on_change` runs after every create or revoke (the token cache refreshes).
  KeyOperations(ApiKeyStore& store, std::function<void()> on_change = [] {},
                RandomBytes random_bytes = SystemRandomBytes)
      : store_(store), on_change_(std::move(on_change)), random_bytes_(std::move(random_bytes)) {}

  // INVALID_ARGUMENT naming every bad field (name as for users; role one of
  // viewer, operator, admin); ALREADY_EXISTS when a live key has the name.
  absl::StatusOr<CreatedApiKey> CreateKey(absl::string_view name, absl::string_view role);
  absl::StatusOr<std::vector<ApiKeyRecord>> ListKeys();
  // INVALID_ARGUMENT for a malformed id, NOT_FOUND when no live key has it.
  absl::Status RevokeKey(absl::string_view id);
  // The first admin key, named `name`, when no live admin key exists yet:
  // with `token` when given (INVALID_ARGUMENT unless well-formed), else a new
  // one. nullopt when an admin key exists (nothing is created then).
  absl::StatusOr<std::optional<CreatedApiKey>> CreateFirstAdminKey(
      absl::string_view name, const std::optional<std::string>& token = std::nullopt);

 private:
  ApiKeyStore& store_;
  std::function<void()> on_change_;
  RandomBytes random_bytes_;
};

}  // namespace pbx

#endif  // PBX_SERVER_KEYS_KEY_OPERATIONS_H_
