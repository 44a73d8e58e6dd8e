#include "server/core/validation.h"

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/core/field_violations.h"

namespace pbx {
namespace {

// Decodes `text` as UTF-8 into code points; nullopt when it is not valid UTF-8
// (overlong forms, surrogates and values past U+10FFFF are invalid too).
std::optional<std::vector<char32_t>> DecodeUtf8(absl::string_view text) {
  std::vector<char32_t> code_points;
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<uint8_t>(text[i]);
    int length;
    char32_t value;
    char32_t minimum;
    if (lead < 0x80) {
      length = 1, value = lead, minimum = 0;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2, value = lead & 0x1F, minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, value = lead & 0x0F, minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, value = lead & 0x07, minimum = 0x10000;
    } else {
      return std::nullopt;
    }
    if (i + length > text.size()) return std::nullopt;
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return std::nullopt;
      value = (value << 6) | (next & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF ||
        (value >= 0xD800 && value <= 0xDFFF)) {
      return std::nullopt;
    }
    code_points.push_back(value);
    i += length;
  }
  return code_points;
}

// Control characters (Unicode Cc), the line/paragraph separators, the bidi
// embedding/override/isolate controls and the byte-order mark: none belongs in
// a display name. Line breaks could turn a value into new config lines; bidi
// controls make a name display as something else than it is.
bool IsForbiddenCodePoint(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF;
}

// Describes what is wrong with free text, or returns an empty string.
std::string CheckText(absl::string_view text) {
  auto code_points = DecodeUtf8(text);
  if (!code_points) return "must be valid UTF-8";
  for (char32_t c : *code_points) {
    if (IsForbiddenCodePoint(c)) return "must not contain control characters";
  }
  return "";
}

std::string CheckName(absl::string_view name) {
  if (name.empty()) return "is required";
  if (std::string problem = CheckText(name); !problem.empty()) return problem;
  if (DecodeUtf8(name)->size() > kMaxNameChars) {
    return absl::StrCat("must be at most ", kMaxNameChars, " characters");
  }
  return "";
}

// RFC 5322 "atext": the characters a dot-atom local part may use.
bool IsAtext(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+/=?^_`{|}~-").find(c) !=
             absl::string_view::npos;
}

bool IsDotAtom(absl::string_view text) {
  if (text.empty()) return false;
  for (absl::string_view atom : absl::StrSplit(text, '.')) {
    if (atom.empty()) return false;  // leading, trailing or doubled dot
    for (char c : atom) {
      if (!IsAtext(c)) return false;
    }
  }
  return true;
}

// A DNS host name with at least two labels (user@localhost is not an address
// an administrator means to store).
bool IsDomain(absl::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) return false;
  for (absl::string_view label : labels) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return false;
      }
    }
  }
  return true;
}

std::string CheckEmail(absl::string_view email) {
  if (email.empty()) return "is required";
  if (email.size() > kMaxEmailChars) {
    return absl::StrCat("must be at most ", kMaxEmailChars, " characters");
  }
  const size_t at = email.rfind('@');
  if (at == absl::string_view::npos) return "must be an address like name@example.com";
  const absl::string_view local = email.substr(0, at);
  const absl::string_view domain = email.substr(at + 1);
  if (local.size() > kMaxEmailLocalChars || !IsDotAtom(local) ||
      !IsDomain(domain)) {
    return "must be an address like name@example.com (ASCII letters, digits "
           "and the usual punctuation)";
  }
  return "";
}

bool IsMetadataKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxMetadataKeyChars) return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

void CheckMetadata(const std::map<std::string, std::string>& metadata,
                   std::vector<FieldViolation>& violations) {
  if (metadata.size() > kMaxMetadataEntries) {
    violations.push_back({"metadata", absl::StrCat("must have at most ",
                                                   kMaxMetadataEntries,
                                                   " entries")});
    return;
  }
  for (const auto& [key, value] : metadata) {
    // The key goes into the field path only once it is known to be harmless.
    if (!IsMetadataKey(key)) {
      violations.push_back(
          {"metadata", absl::StrCat("keys must match [A-Za-z0-9_.-]{1,",
                                    kMaxMetadataKeyChars, "}")});
      continue;
    }
    const std::string field = absl::StrCat("metadata.", key);
    if (value.size() > kMaxMetadataValueBytes) {
      violations.push_back({field, absl::StrCat("must be at most ",
                                                kMaxMetadataValueBytes,
                                                " bytes")});
    } else if (std::string problem = CheckText(value); !problem.empty()) {
      violations.push_back({field, problem});
    }
  }
}

bool IsHexDigit(char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); }

}  // namespace

absl::StatusOr<int> ValidateAuditPageLimit(int limit) {
  if (limit < 0 || limit > kMaxAuditPage) {
    return InvalidFieldsError("invalid audit request",
                              {{"limit", absl::StrCat("must be between 0 and ", kMaxAuditPage)}});
  }
  return limit == 0 ? kDefaultAuditPage : limit;
}

absl::StatusOr<std::string> ValidateApplyNote(absl::string_view note) {
  const std::string trimmed(absl::StripAsciiWhitespace(note));
  std::string problem = CheckText(trimmed);
  if (problem.empty() && DecodeUtf8(trimmed)->size() > kMaxApplyNoteChars) {
    problem = absl::StrCat("must be at most ", kMaxApplyNoteChars, " characters");
  }
  if (!problem.empty()) {
    return InvalidFieldsError("invalid apply request", {{"note", problem}});
  }
  return trimmed;
}

absl::StatusOr<NewUser> ValidateUserFields(const NewUser& input, UserFields fields) {
  NewUser user{std::string(absl::StripAsciiWhitespace(input.name)),
               std::string(absl::StripAsciiWhitespace(input.email)),
               input.metadata};
  std::vector<FieldViolation> violations;
  if (std::string problem = CheckName(user.name); fields.name && !problem.empty()) {
    violations.push_back({"name", problem});
  }
  if (std::string problem = CheckEmail(user.email); fields.email && !problem.empty()) {
    violations.push_back({"email", problem});
  }
  if (fields.metadata) CheckMetadata(user.metadata, violations);
  if (!violations.empty()) return InvalidFieldsError("invalid user", violations);
  return user;
}

absl::StatusOr<NewUser> ValidateNewUser(const NewUser& input) {
  return ValidateUserFields(input, UserFields{});
}

absl::StatusOr<std::vector<NewUser>> ValidateNewUsers(const std::vector<NewUser>& inputs) {
  std::vector<FieldViolation> violations;
  if (inputs.empty() || inputs.size() > static_cast<size_t>(kMaxBatchUsers)) {
    violations.push_back(
        {"requests", absl::StrCat("must hold 1 to ", kMaxBatchUsers, " users")});
    return InvalidFieldsError("invalid batch", violations);
  }
  std::vector<NewUser> users;
  users.reserve(inputs.size());
  // Lower-cased email -> the first index that has it: emails are unique
  // case-insensitively, inside the batch as in the database.
  std::map<std::string, size_t> first_with_email;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string prefix = absl::StrCat("requests[", i, "].");
    absl::StatusOr<NewUser> user = ValidateNewUser(inputs[i]);
    if (!user.ok()) {
      for (const FieldViolation& violation : FieldViolationsOf(user.status())) {
        violations.push_back({prefix + violation.field, violation.description});
      }
      continue;
    }
    auto [first, inserted] =
        first_with_email.emplace(absl::AsciiStrToLower(user->email), i);
    if (!inserted) {
      violations.push_back({prefix + "email",
                            absl::StrCat("repeats requests[", first->second, "].email")});
    }
    users.push_back(*std::move(user));
  }
  if (!violations.empty()) return InvalidFieldsError("invalid batch", violations);
  return users;
}

absl::StatusOr<NewApiKey> ValidateNewApiKey(absl::string_view name, absl::string_view role_name) {
  std::vector<FieldViolation> violations;
  std::string trimmed(absl::StripAsciiWhitespace(name));
  if (std::string problem = CheckName(trimmed); !problem.empty()) {
    violations.push_back({"name", std::move(problem)});
  }
  const std::optional<Role> role = RoleFromName(role_name);
  if (!role) violations.push_back({"role", "must be viewer, operator or admin"});
  if (!violations.empty()) return InvalidFieldsError("invalid API key", violations);
  return NewApiKey{std::move(trimmed), *role};
}

absl::StatusOr<std::string> ValidateUuid(absl::string_view id, absl::string_view field,
                                         absl::string_view what) {
  // 8-4-4-4-12 hexadecimal digits.
  static constexpr int kGroupLengths[] = {8, 4, 4, 4, 12};
  std::vector<absl::string_view> groups = absl::StrSplit(id, '-');
  bool valid = groups.size() == 5;
  for (size_t i = 0; valid && i < groups.size(); ++i) {
    valid = static_cast<int>(groups[i].size()) == kGroupLengths[i];
    for (char c : groups[i]) valid = valid && IsHexDigit(c);
  }
  if (!valid) {
    return InvalidFieldsError(
        absl::StrCat("invalid ", what),
        {{std::string(field), "must be a UUID like 123e4567-e89b-12d3-a456-426614174000"}});
  }
  return absl::AsciiStrToLower(id);
}

}  // namespace pbx
