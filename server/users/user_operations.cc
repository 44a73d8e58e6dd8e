#include "server/users/user_operations.h"

#include "absl/strings/str_cat.h"

#include "server/core/idempotency.h"
#include "server/core/validation.h"

namespace pbx {
namespace {

// What a request id is scoped by: the same id on another method is another
// request.
constexpr absl::string_view kCreateMethod = "CreateUser";
constexpr absl::string_view kBatchCreateMethod = "BatchCreateUsers";

}  // namespace

absl::StatusOr<CreatedUser> UserOperations::CreateUser(const NewUser& input,
                                                       absl::string_view request_id,
                                                       const ChangeActor& actor) {
  absl::StatusOr<NewUser> user = ValidateNewUser(input);
  if (!user.ok()) return user.status();
  absl::StatusOr<std::vector<CreatedUser>> created =
      Create({*std::move(user)}, kCreateMethod, request_id, false, kActionCreate, actor);
  if (!created.ok()) return created.status();
  return std::move(created->front());
}

absl::StatusOr<std::vector<CreatedUser>> UserOperations::BatchCreateUsers(
    const std::vector<NewUser>& inputs, absl::string_view request_id, bool validate_only,
    const ChangeActor& actor) {
  absl::StatusOr<std::vector<NewUser>> users = ValidateNewUsers(inputs);
  if (!users.ok()) return users.status();
  return Create(*users, kBatchCreateMethod, request_id, validate_only, kActionBatchCreate, actor);
}

absl::StatusOr<std::vector<CreatedUser>> UserOperations::Create(
    const std::vector<NewUser>& users, absl::string_view method, absl::string_view request_id,
    bool validate_only, absl::string_view action, const ChangeActor& actor) {
  // A check is another request than the create it checks: it must not
  // answer with the users a create with the same id made.
  const std::string scope = validate_only ? absl::StrCat(method, ":validate_only") : std::string(method);
  absl::StatusOr<std::optional<IdempotencyKey>> key = IdempotencyKeyFor(request_id, scope, users);
  if (!key.ok()) return key.status();
  std::vector<std::string> secrets;
  secrets.reserve(users.size());
  for (size_t i = 0; i < users.size(); ++i) secrets.push_back(GenerateSipSecret(random_bytes_));
  return store_.CreateUsers(users, secrets, {actor, action, *key, validate_only});
}

absl::StatusOr<UserRecord> UserOperations::GetUser(absl::string_view id) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  return store_.GetUser(*canonical_id);
}

absl::StatusOr<std::vector<UserRecord>> UserOperations::ListUsers() {
  return store_.ListUsers();
}

absl::StatusOr<UserRecord> UserOperations::UpdateUser(absl::string_view id,
                                                      const std::vector<std::string>& mask_paths,
                                                      const NewUser& values,
                                                      const ChangeActor& actor) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  absl::StatusOr<UserPatch> patch = ValidateUserPatch(mask_paths, values);
  if (!patch.ok()) return patch.status();
  return store_.UpdateUser(*canonical_id, *patch, actor);
}

absl::Status UserOperations::DeleteUser(absl::string_view id, const ChangeActor& actor) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  return store_.DeleteUser(*canonical_id, actor);
}

absl::StatusOr<SipCredentials> UserOperations::GetSipCredentials(absl::string_view id,
                                                                 const ChangeActor& actor) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  return store_.GetSipCredentials(*canonical_id, actor);
}

absl::StatusOr<SipCredentials> UserOperations::RotateSipCredentials(absl::string_view id,
                                                                    const ChangeActor& actor) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  return store_.ReplaceSipSecret(*canonical_id, GenerateSipSecret(random_bytes_), actor);
}

absl::StatusOr<std::vector<UserChangeEvent>> UserOperations::ListChangeEvents(
    int limit, absl::string_view user_id) {
  absl::StatusOr<int> page = ValidateAuditPageLimit(limit);
  if (!page.ok()) return page.status();
  std::string canonical_user_id;
  if (!user_id.empty()) {
    absl::StatusOr<std::string> valid = ValidateUuid(user_id, "user_id", "user_id");
    if (!valid.ok()) return valid.status();
    canonical_user_id = *std::move(valid);
  }
  return store_.ListChangeEvents(*page, canonical_user_id);
}

}  // namespace pbx
