#include "server/users/user_operations.h"

#include "server/core/validation.h"

namespace pbx {

absl::StatusOr<CreatedUser> UserOperations::CreateUser(const NewUser& input) {
  absl::StatusOr<NewUser> user = ValidateNewUser(input);
  if (!user.ok()) return user.status();
  return store_.CreateUser(*user, GenerateSipSecret(random_bytes_));
}

absl::StatusOr<UserRecord> UserOperations::GetUser(absl::string_view id) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  return store_.GetUser(*canonical_id);
}

absl::StatusOr<std::vector<UserRecord>> UserOperations::ListUsers() {
  return store_.ListUsers();
}

absl::Status UserOperations::DeleteUser(absl::string_view id) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  return store_.DeleteUser(*canonical_id);
}

absl::StatusOr<SipCredentials> UserOperations::GetSipCredentials(
    absl::string_view id) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  return store_.GetSipCredentials(*canonical_id);
}

}  // namespace pbx
