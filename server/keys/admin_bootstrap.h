#ifndef PBX_SERVER_KEYS_ADMIN_BOOTSTRAP_H_
#define PBX_SERVER_KEYS_ADMIN_BOOTSTRAP_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/keys/key_operations.h"

namespace pbx {

// The first admin key, without a chicken-and-egg. When no live admin key
// exists, creates one named `name`: with the token `token_file` holds (a
// token provisioned beforehand, e.g. from a secret store), or, when the file
// is absent or empty, with a new token written there (mode 0600). Returns the
// key created; nullopt when an admin key existed (nothing is created then).
// INVALID_ARGUMENT when the file holds something else than a token.
absl::StatusOr<std::optional<ApiKeyRecord>> BootstrapAdminKey(KeyOperations& keys,
                                                              const std::string& token_file,
                                                              absl::string_view name = "admin");

// The token in `token_file`: nullopt when the file is absent or empty,
// INVALID_ARGUMENT when it holds anything but one well-formed token.
absl::StatusOr<std::optional<std::string>> ReadTokenFile(const std::string& token_file);

}  // namespace pbx

#endif  // PBX_SERVER_KEYS_ADMIN_BOOTSTRAP_H_
