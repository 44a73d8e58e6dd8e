#ifndef PBX_SERVER_CORE_VALIDATION_H_
#define PBX_SERVER_CORE_VALIDATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

// Returns the canonical (lower-case) form of a user id, or INVALID_ARGUMENT
// when `id` is not a UUID.
absl::StatusOr<std::string> ValidateUserId(absl::string_view id);

inline constexpr int kMaxTriggeredByChars = 200;

// Who triggered an Apply, as recorded in the audit log: trimmed, at most 200
// characters of text without control characters; INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> ValidateTriggeredBy(absl::string_view triggered_by);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_VALIDATION_H_
