#ifndef PBX_SERVER_CORE_VALIDATION_H_
#define PBX_SERVER_CORE_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/core/api_key.h"
#include "server/core/user.h"

namespace pbx {

// Limits of what a user record may hold (FR-014, SC-008). Names and emails end
// up in logs, API responses and, for Apply, next to Asterisk config, so they are
// kept short and free of control characters.
inline constexpr int kMaxNameChars = 100;
inline constexpr int kMaxEmailChars = 254;
inline constexpr int kMaxEmailLocalChars = 64;
inline constexpr int kMaxMetadataEntries = 32;
inline constexpr int kMaxMetadataKeyChars = 64;
inline constexpr int kMaxMetadataValueBytes = 512;

// Checks every field of `input` and returns the normalized user (name and email
// trimmed), or INVALID_ARGUMENT listing every bad field at once.
absl::StatusOr<NewUser> ValidateNewUser(const NewUser& input);

// Which fields ValidateUserFields checks; the others pass unchecked (an
// update checks only the fields it changes).
struct UserFields {
  bool name = true;
  bool email = true;
  bool metadata = true;
};
absl::StatusOr<NewUser> ValidateUserFields(const NewUser& input, UserFields fields);

inline constexpr int kMaxBatchUsers = 1000;

// A batch create's users: 1 to kMaxBatchUsers, each checked as by
// ValidateNewUser, and no email twice (case-insensitively). INVALID_ARGUMENT
// lists every violation at once, named by index ("requests[3].email").
absl::StatusOr<std::vector<NewUser>> ValidateNewUsers(const std::vector<NewUser>& inputs);

// Returns the canonical (lower-case) form of a UUID, or INVALID_ARGUMENT
// ("invalid <what>", naming `field`) when `id` is not one.
absl::StatusOr<std::string> ValidateUuid(absl::string_view id, absl::string_view field,
                                         absl::string_view what);
inline absl::StatusOr<std::string> ValidateId(absl::string_view id, absl::string_view what) {
  return ValidateUuid(id, "id", absl::StrCat(what, " id"));
}
inline absl::StatusOr<std::string> ValidateUserId(absl::string_view id) {
  return ValidateId(id, "user");
}

struct NewApiKey {
  std::string name;
  Role role;
};

// A new API key's name, checked like a user's name (trimmed, 1-100 characters
// of text without control characters), and its role ("viewer", "operator" or
// "admin"); INVALID_ARGUMENT listing both fields at once when both are bad.
absl::StatusOr<NewApiKey> ValidateNewApiKey(absl::string_view name, absl::string_view role_name);

// Pages of the audits (Apply and change): `limit` 0 asks for the default.
inline constexpr int kDefaultAuditPage = 50;
inline constexpr int kMaxAuditPage = 1000;
// The number of entries to read for `limit`; INVALID_ARGUMENT (field "limit")
// outside 0-kMaxAuditPage.
absl::StatusOr<int> ValidateAuditPageLimit(int limit);

inline constexpr int kMaxApplyNoteChars = 200;

// The caller's note on an Apply, as recorded in the audit log: trimmed, at
// most 200 characters of text without control characters; INVALID_ARGUMENT
// (field "note") otherwise.
absl::StatusOr<std::string> ValidateApplyNote(absl::string_view note);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_VALIDATION_H_
