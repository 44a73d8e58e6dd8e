#ifndef PBX_SERVER_STORE_API_KEY_STORE_H_
#define PBX_SERVER_STORE_API_KEY_STORE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/api_key.h"

namespace pbx {

// A live key as the token check needs it.
struct ActiveApiKey {
  std::string token_hash;
  Principal principal;
};

// Where API keys live. Names and roles passed in are validated; ids are
// validated UUIDs.
class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;

  // ALREADY_EXISTS when a live key has that name (ignoring case).
  virtual absl::StatusOr<ApiKeyRecord> CreateKey(absl::string_view name, Role role,
                                                 absl::string_view token_hash) = 0;
  // Creates the key only when no live admin key exists (in one transaction,
  // so concurrent bootstraps create one); nullopt when one already exists.
  // FAILED_PRECONDITION when token_hash is a revoked key's: a revoked token
  // never comes back.
  virtual absl::StatusOr<std::optional<ApiKeyRecord>> CreateFirstAdminKey(
      absl::string_view name, absl::string_view token_hash) = 0;
  // Live keys, oldest first.
  virtual absl::StatusOr<std::vector<ApiKeyRecord>> ListKeys() = 0;
  // NOT_FOUND when no live key has that id.
  virtual absl::Status RevokeKey(absl::string_view id) = 0;
  // Every live key with its token hash: what the token cache holds.
  virtual absl::StatusOr<std::vector<ActiveApiKey>> ActiveKeys() = 0;
  // Records that these keys were used (coarsely: the cache calls it now and then).
  virtual absl::Status MarkUsed(const std::vector<std::string>& key_ids) = 0;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_API_KEY_STORE_H_
