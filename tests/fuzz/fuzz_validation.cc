// libFuzzer harness for server/core/validation: arbitrary bytes as a user's
// name, email and metadata, a user id and an Apply's note.
//
// Input (see fuzz_input.h): fields name, email, user id, Apply note, then
// metadata key, value, key, value, ... separated by "\|".
//
// Each validator is compared with an independent oracle written from the
// documented rules (accepted exactly when the oracle accepts), and:
//   - accepted names are valid UTF-8, 1-100 code points, free of control
//     characters, trimmed; accepted emails are trimmed, <= 254 bytes, one '@',
//     a dot-atom local part of <= 64 and a domain of >= 2 LDH labels;
//   - accepted ids are canonical lower-case UUIDs;
//   - an accepted Apply note is trimmed, valid UTF-8, <= 200 code points;
//   - rejections are INVALID_ARGUMENT whose field violations name exactly the
//     bad fields (a metadata key only when it is itself valid);
//   - validating an accepted value again returns it unchanged;
//   - an update (the note read as its comma-separated mask) refuses the paths
//     that cannot change or are unknown, then applies create's rules to the
//     masked fields only; a batch names each violation by index and refuses
//     an email repeated in another case; a request id is accepted exactly
//     when it is a UUID.

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/core/field_violations.h"
#include "server/core/idempotency.h"
#include "server/core/user_changes.h"
#include "server/core/user.h"
#include "server/core/validation.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using pbx::fuzz::Fail;

constexpr char kHarness[] = "fuzz_validation";

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsTrimmed(std::string_view s) { return Trim(s).size() == s.size(); }

// Well-formed UTF-8 per the Unicode standard, Table 3-7; the code points.
std::optional<std::vector<uint32_t>> Utf8(std::string_view s) {
  std::vector<uint32_t> out;
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  auto in = [](uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; };
  while (i < s.size()) {
    const uint8_t b0 = byte(i);
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 <= 0x7F) {
      out.push_back(b0);
      ++i;
      continue;
    } else if (in(b0, 0xC2, 0xDF)) {
      n = 2;
    } else if (b0 == 0xE0) {
      n = 3, lo = 0xA0;
    } else if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) {
      n = 3;
    } else if (b0 == 0xED) {
      n = 3, hi = 0x9F;
    } else if (b0 == 0xF0) {
      n = 4, lo = 0x90;
    } else if (in(b0, 0xF1, 0xF3)) {
      n = 4;
    } else if (b0 == 0xF4) {
      n = 4, hi = 0x8F;
    } else {
      return std::nullopt;
    }
    if (i + n > s.size()) return std::nullopt;
    if (!in(byte(i + 1), lo, hi)) return std::nullopt;
    for (size_t k = 2; k < n; ++k) {
      if (!in(byte(i + k), 0x80, 0xBF)) return std::nullopt;
    }
    uint32_t cp = b0 & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (byte(i + k) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

// Unicode Cc, LINE/PARAGRAPH SEPARATOR, bidi controls and BOM (the project's rule).
bool IsControl(uint32_t c) {
  return c <= 0x1F || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF;
}

// Valid UTF-8 without control characters, at most `max_code_points` long.
bool IsText(std::string_view s, size_t max_code_points) {
  const auto cps = Utf8(s);
  if (!cps || cps->size() > max_code_points) return false;
  for (uint32_t c : *cps) {
    if (IsControl(c)) return false;
  }
  return true;
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool NameOk(std::string_view trimmed) {
  return !trimmed.empty() && IsText(trimmed, 100);
}

bool EmailOk(std::string_view e) {
  if (e.empty() || e.size() > 254) return false;
  size_t ats = 0, at = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e[i] == '@') ++ats, at = i;
  }
  if (ats != 1) return false;  // '@' is not atext, so the local part has none
  const std::string_view local = e.substr(0, at), domain = e.substr(at + 1);
  if (local.empty() || local.size() > 64) return false;
  const std::string_view atext_punct = "!#$%&'*+/=?^_`{|}~-";
  char previous = '.';  // a leading dot is as bad as a doubled one
  for (char c : local) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!IsAsciiAlnum(c) && atext_punct.find(c) == std::string_view::npos) {
      return false;
    }
    previous = c;
  }
  if (previous == '.') return false;
  if (domain.empty() || domain.size() > 253) return false;
  size_t labels = 0, label_start = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i < domain.size() && domain[i] != '.') {
      if (!IsAsciiAlnum(domain[i]) && domain[i] != '-') return false;
      continue;
    }
    const std::string_view label = domain.substr(label_start, i - label_start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    ++labels;
    label_start = i + 1;
  }
  return labels >= 2;
}

bool MetadataKeyOk(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  for (char c : k) {
    if (!IsAsciiAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

bool MetadataValueOk(std::string_view v) { return v.size() <= 512 && IsText(v, v.size()); }

bool IsHex(char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

bool UuidOk(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !IsHex(id[i])) return false;
  }
  return true;
}

bool IsCanonicalUuid(std::string_view id) {
  if (!UuidOk(id)) return false;
  for (char c : id) {
    if (c >= 'A' && c <= 'F') return false;
  }
  return true;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The violations of a rejection must be INVALID_ARGUMENT and name exactly
// `expected_fields`; every field and description must be printable text.
// `what` describes the input (called only on failure).
template <typename What>
void CheckRejection(const absl::Status& status, const std::multiset<std::string>& expected_fields,
                    const What& what) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Fail(kHarness, what() + " rejected with " + status.ToString());
  }
  std::multiset<std::string> fields;
  for (const pbx::FieldViolation& v : pbx::FieldViolationsOf(status)) {
    if (!IsText(v.field, 200) || !IsText(v.description, 500) || v.description.empty()) {
      Fail(kHarness, what() + ": unprintable violation " + Quote(v.field) + " " + Quote(v.description));
    }
    fields.insert(v.field);
  }
  if (fields != expected_fields) {
    std::string want, got;
    for (const auto& f : expected_fields) want += Quote(f) + " ";
    for (const auto& f : fields) got += Quote(f) + " ";
    Fail(kHarness, what() + ": violations name {" + got + "} instead of {" + want + "} (" +
                       status.ToString() + ")");
  }
}

// The fields the oracle finds bad in `input`, as ValidateNewUser names them.
std::multiset<std::string> BadUserFields(const pbx::NewUser& input) {
  std::multiset<std::string> bad;
  if (!NameOk(Trim(input.name))) bad.insert("name");
  if (!EmailOk(Trim(input.email))) bad.insert("email");
  if (input.metadata.size() > 32) {
    bad.insert("metadata");
  } else {
    for (const auto& [key, value] : input.metadata) {
      if (!MetadataKeyOk(key)) {
        bad.insert("metadata");
      } else if (!MetadataValueOk(value)) {
        bad.insert("metadata." + key);
      }
    }
  }
  return bad;
}

void CheckUser(const pbx::NewUser& input) {
  const std::string_view name = Trim(input.name), email = Trim(input.email);
  const std::multiset<std::string> bad = BadUserFields(input);
  auto what = [&] { return "user " + Quote(input.name) + " " + Quote(input.email); };
  auto result = pbx::ValidateNewUser(input);
  if (!result.ok()) {
    CheckRejection(result.status(), bad, what);
    return;
  }
  if (!bad.empty()) Fail(kHarness, what() + " accepted although " + *bad.begin() + " is invalid");
  const pbx::NewUser& user = *result;
  if (user.name != name || !IsTrimmed(user.name) || !NameOk(user.name)) {
    Fail(kHarness, what() + ": accepted name " + Quote(user.name));
  }
  if (user.email != email || !EmailOk(user.email)) {
    Fail(kHarness, what() + ": accepted email " + Quote(user.email));
  }
  if (user.metadata != input.metadata) Fail(kHarness, what() + ": metadata changed");
  auto again = pbx::ValidateNewUser(user);
  if (!again.ok() || again->name != user.name || again->email != user.email ||
      again->metadata != user.metadata) {
    Fail(kHarness, what() + ": validating the accepted user again does not return it");
  }
}

void CheckUserId(const std::string& id) {
  auto result = pbx::ValidateUserId(id);
  auto what = [&] { return "user id " + Quote(id); };
  if (!result.ok()) {
    if (UuidOk(id)) Fail(kHarness, what() + " rejected: " + result.status().ToString());
    CheckRejection(result.status(), {"id"}, what);
    return;
  }
  if (!UuidOk(id)) Fail(kHarness, what() + " accepted");
  if (!IsCanonicalUuid(*result) || result->size() != id.size()) {
    Fail(kHarness, what() + " accepted as " + Quote(*result));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const char lower = (id[i] >= 'A' && id[i] <= 'Z') ? static_cast<char>(id[i] | 0x20) : id[i];
    if ((*result)[i] != lower) Fail(kHarness, what() + " canonicalized to " + Quote(*result));
  }
  auto again = pbx::ValidateUserId(*result);
  if (!again.ok() || *again != *result) Fail(kHarness, what() + ": canonical form not a fixpoint");
}

void CheckApplyNote(const std::string& text) {
  const std::string_view trimmed = Trim(text);
  const bool ok = IsText(trimmed, 200);
  auto result = pbx::ValidateApplyNote(text);
  auto what = [&] { return "note " + Quote(text); };
  if (!result.ok()) {
    if (ok) Fail(kHarness, what() + " rejected: " + result.status().ToString());
    CheckRejection(result.status(), {"note"}, what);
    return;
  }
  if (!ok) Fail(kHarness, what() + " accepted");
  if (*result != trimmed || !IsTrimmed(*result)) {
    Fail(kHarness, what() + " accepted as " + Quote(*result));
  }
  auto again = pbx::ValidateApplyNote(*result);
  if (!again.ok() || *again != *result) Fail(kHarness, what() + ": accepted value not a fixpoint");
}

// An update of `input`'s fields with the mask `paths`: refused paths first
// (immutable ones named user.<path>, anything else unknown or repeated as
// update_mask), then create's rules on the masked fields, named user.<field>.
void CheckUserPatch(const std::vector<std::string>& paths, const pbx::NewUser& input) {
  static const std::set<std::string> kImmutable = {"id", "tenant_id", "extension", "created_at",
                                                   "extension_allocated_at"};
  std::multiset<std::string> bad;
  std::set<std::string> masked;
  if (paths.empty()) bad.insert("update_mask");
  for (const std::string& path : paths) {
    if (kImmutable.count(path) > 0) {
      bad.insert("user." + path);
    } else if (path == "*") {
      masked.insert({"name", "email", "metadata"});
    } else if (path == "name" || path == "email" || path == "metadata") {
      if (!masked.insert(path).second) bad.insert("update_mask");
    } else {
      bad.insert("update_mask");
    }
  }
  if (bad.empty()) {
    for (const std::string& field : BadUserFields(input)) {
      const std::string top = field.substr(0, field.find('.'));
      if (masked.count(top) > 0) bad.insert("user." + field);
    }
  }
  std::string mask_text;
  for (const std::string& path : paths) mask_text += Quote(path) + " ";
  auto what = [&] { return "update {" + mask_text + "} of " + Quote(input.name) + " " + Quote(input.email); };
  auto result = pbx::ValidateUserPatch(paths, input);
  if (!result.ok()) {
    CheckRejection(result.status(), bad, what);
    return;
  }
  if (!bad.empty()) Fail(kHarness, what() + " accepted although " + *bad.begin() + " is invalid");
  if (result->name.has_value() != (masked.count("name") > 0) ||
      result->email.has_value() != (masked.count("email") > 0) ||
      result->metadata.has_value() != (masked.count("metadata") > 0)) {
    Fail(kHarness, what() + ": the patch holds other fields than the mask names");
  }
  if ((result->name && *result->name != Trim(input.name)) ||
      (result->email && *result->email != Trim(input.email)) ||
      (result->metadata && *result->metadata != input.metadata)) {
    Fail(kHarness, what() + ": a patched value is not the trimmed input");
  }
}

// A batch of `input` and a copy whose email differs only in case: each
// entry's violations under its index, and the copy's email as a repeat.
void CheckBatch(const pbx::NewUser& input) {
  pbx::NewUser copy = input;
  for (char& c : copy.email) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  std::multiset<std::string> bad;
  for (int i = 0; i < 2; ++i) {
    for (const std::string& field : BadUserFields(i == 0 ? input : copy)) {
      bad.insert("requests[" + std::to_string(i) + "]." + field);
    }
  }
  const bool copy_valid = BadUserFields(copy).empty();
  if (copy_valid && BadUserFields(input).count("email") == 0) bad.insert("requests[1].email");
  auto what = [&] { return "batch of " + Quote(input.name) + " " + Quote(input.email) + " twice"; };
  auto result = pbx::ValidateNewUsers({input, copy});
  if (!result.ok()) {
    CheckRejection(result.status(), bad, what);
    return;
  }
  if (!bad.empty()) Fail(kHarness, what() + " accepted although " + *bad.begin() + " is invalid");
  Fail(kHarness, what() + " accepted: the second email repeats the first");
}

// A create's request id: accepted exactly when it is a UUID, lower-cased, and
// the same users give the same fingerprint.
void CheckRequestId(const std::string& id, const pbx::NewUser& user) {
  auto what = [&] { return "request id " + Quote(id); };
  auto key = pbx::IdempotencyKeyFor(id, "CreateUser", {user});
  if (id.empty()) {
    if (!key.ok() || key->has_value()) Fail(kHarness, "an empty request id is not \"none\"");
    return;
  }
  if (!key.ok()) {
    if (UuidOk(id)) Fail(kHarness, what() + " rejected: " + key.status().ToString());
    CheckRejection(key.status(), {"request_id"}, what);
    return;
  }
  if (!UuidOk(id) || !IsCanonicalUuid((*key)->request_id)) Fail(kHarness, what() + " accepted");
  auto again = pbx::IdempotencyKeyFor((*key)->request_id, "CreateUser", {user});
  if (!again.ok() || (*again)->fingerprint != (*key)->fingerprint) {
    Fail(kHarness, what() + ": the same request has another fingerprint");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pbx::fuzz::FieldReader in(data, size);
  pbx::NewUser user;
  user.name = in.Next();
  user.email = in.Next();
  const std::string id = in.Next();
  const std::string note = in.Next();
  while (!in.done()) {
    std::string key = in.Next();
    user.metadata[key] = in.Next();
  }
  CheckUser(user);
  CheckUserId(id);
  // The name and email double as more ids and notes.
  CheckUserId(user.name);
  CheckApplyNote(note);
  CheckApplyNote(user.name);
  // The note doubles as an update mask (comma-separated paths), the id as a
  // request id.
  std::vector<std::string> mask;
  for (size_t start = 0; !note.empty() && start <= note.size();) {
    const size_t comma = std::min(note.find(',', start), note.size());
    mask.push_back(note.substr(start, comma - start));
    start = comma + 1;
  }
  CheckUserPatch(mask, user);
  CheckBatch(user);
  CheckRequestId(id, user);
  return 0;
}
