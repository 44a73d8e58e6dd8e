#include "server/keys/admin_bootstrap.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/private_file.h"

namespace pbx {

absl::StatusOr<std::optional<std::string>> ReadTokenFile(const std::string& token_file) {
  absl::StatusOr<std::optional<std::string>> content = ReadFileIfExists(token_file);
  if (!content.ok()) return content.status();
  if (!content->has_value()) return std::optional<std::string>();
  const std::string token(absl::StripAsciiWhitespace(**content));
  if (token.empty()) return std::optional<std::string>();
  if (!IsWellFormedApiToken(token)) {
    return absl::InvalidArgumentError(absl::StrCat(
        token_file, " holds no API token (pbx_ and 43 characters of base64url)"));
  }
  return std::optional<std::string>(token);
}

absl::StatusOr<std::optional<ApiKeyRecord>> BootstrapAdminKey(KeyOperations& keys,
                                                              const std::string& token_file,
                                                              absl::string_view name) {
  absl::StatusOr<std::optional<std::string>> provisioned = ReadTokenFile(token_file);
  if (!provisioned.ok()) return provisioned.status();
  absl::StatusOr<std::optional<CreatedApiKey>> created =
      keys.CreateFirstAdminKey(name, *provisioned);
  if (absl::IsFailedPrecondition(created.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat(created.status().message(), " (", token_file,
                     "); remove that file and a new admin key will be made"));
  }
  if (!created.ok()) return created.status();
  if (!created->has_value()) return std::optional<ApiKeyRecord>();
  if (!provisioned->has_value()) {
    if (absl::Status written = WritePrivateFile(token_file, (*created)->token + "\n");
        !written.ok()) {
      // The key exists but nobody has its token: revoke it, so the next run
      // can make another.
      (void)keys.RevokeKey((*created)->key.id);
      return written;
    }
  }
  return std::optional<ApiKeyRecord>((*created)->key);
}

}  // namespace pbx
