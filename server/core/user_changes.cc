#include "server/core/user_changes.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/core/field_violations.h"
#include "server/core/validation.h"

namespace pbx {
namespace {

// Paths of User that exist but belong to the portal, not to the caller.
const std::set<std::string>& ImmutablePaths() {
  static const auto* paths = new std::set<std::string>{
      "id", "tenant_id", "extension", "created_at", "extension_allocated_at"};
  return *paths;
}

// Letters, digits, '_' and '.', at most 64: what a protobuf field path is.
bool IsFieldPathLike(absl::string_view path) {
  if (path.empty() || path.size() > 64) return false;
  for (char c : path) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<UserPatch> ValidateUserPatch(const std::vector<std::string>& mask_paths,
                                            const NewUser& user) {
  std::vector<FieldViolation> violations;
  std::set<std::string> named;
  if (mask_paths.empty()) {
    violations.push_back({"update_mask", "must name at least one of name, email, metadata"});
  }
  for (const std::string& path : mask_paths) {
    if (ImmutablePaths().count(path) > 0) {
      violations.push_back({absl::StrCat("user.", path), "cannot be changed"});
    } else if (path == "*") {
      named.insert({"name", "email", "metadata"});
    } else if (path == "name" || path == "email" || path == "metadata") {
      if (!named.insert(path).second) {
        violations.push_back({"update_mask", absl::StrCat("names ", path, " twice")});
      }
    } else {
      // The path goes into the answer only once it is known to be harmless.
      const std::string named_path = IsFieldPathLike(path) ? absl::StrCat(" \"", path, "\"") : "";
      violations.push_back({"update_mask", absl::StrCat("names an unknown field", named_path,
                                                        "; only name, email and metadata can change")});
    }
  }
  if (!violations.empty()) return InvalidFieldsError("invalid user update", violations);

  const UserFields checked{named.count("name") > 0, named.count("email") > 0,
                           named.count("metadata") > 0};
  absl::StatusOr<NewUser> valid = ValidateUserFields(user, checked);
  if (!valid.ok()) {
    for (FieldViolation& violation : FieldViolationsOf(valid.status())) {
      violations.push_back({absl::StrCat("user.", violation.field), violation.description});
    }
    return InvalidFieldsError("invalid user update", violations);
  }
  UserPatch patch;
  if (named.count("name")) patch.name = valid->name;
  if (named.count("email")) patch.email = valid->email;
  if (named.count("metadata")) patch.metadata = valid->metadata;
  return patch;
}

UserRecord Patched(UserRecord user, const UserPatch& patch) {
  if (patch.name) user.name = *patch.name;
  if (patch.email) user.email = *patch.email;
  if (patch.metadata) user.metadata = *patch.metadata;
  return user;
}

namespace {

// The recorded fields of `user`, in the order events list them.
std::vector<std::pair<std::string, AuditValue>> RecordedFields(const UserRecord& user) {
  return {{"name", user.name},
          {"email", user.email},
          {"metadata", user.metadata},
          {"extension", static_cast<int64_t>(user.extension)}};
}

}  // namespace

std::vector<FieldChange> CreatedFields(const UserRecord& user) {
  std::vector<FieldChange> changes;
  for (auto& [field, value] : RecordedFields(user)) {
    changes.push_back({field, std::monostate{}, std::move(value)});
  }
  return changes;
}

std::vector<FieldChange> DeletedFields(const UserRecord& user) {
  std::vector<FieldChange> changes;
  for (auto& [field, value] : RecordedFields(user)) {
    changes.push_back({field, std::move(value), std::monostate{}});
  }
  return changes;
}

std::vector<FieldChange> ChangedFields(const UserRecord& before, const UserRecord& after) {
  std::vector<FieldChange> changes;
  auto old_fields = RecordedFields(before);
  auto new_fields = RecordedFields(after);
  for (size_t i = 0; i < old_fields.size(); ++i) {
    if (old_fields[i].second != new_fields[i].second) {
      changes.push_back({old_fields[i].first, std::move(old_fields[i].second),
                         std::move(new_fields[i].second)});
    }
  }
  return changes;
}

std::vector<FieldChange> RotatedPassword() {
  return {{kSipPasswordField, std::monostate{}, std::monostate{}}};
}

}  // namespace pbx
