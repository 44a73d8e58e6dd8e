#include "server/core/idempotency.h"

#include "absl/strings/str_cat.h"
#include "server/core/error_info.h"
#include "server/core/sha256.h"
#include "server/core/validation.h"

namespace pbx {
namespace {

// Length-prefixed, so no two different requests serialize alike.
void AppendField(std::string& out, absl::string_view field) {
  absl::StrAppend(&out, field.size(), ":", field);
}

}  // namespace

absl::StatusOr<std::optional<IdempotencyKey>> IdempotencyKeyFor(
    absl::string_view request_id, absl::string_view method, const std::vector<NewUser>& users) {
  if (request_id.empty()) return std::nullopt;
  absl::StatusOr<std::string> canonical = ValidateUuid(request_id, "request_id", "request_id");
  if (!canonical.ok()) return canonical.status();
  std::string serialized;
  for (const NewUser& user : users) {
    AppendField(serialized, user.name);
    AppendField(serialized, user.email);
    absl::StrAppend(&serialized, user.metadata.size(), "{");
    for (const auto& [key, value] : user.metadata) {
      AppendField(serialized, key);
      AppendField(serialized, value);
    }
    absl::StrAppend(&serialized, "}");
  }
  return IdempotencyKey{*std::move(canonical), std::string(method), Sha256Hex(serialized)};
}

absl::Status RequestIdReusedError(const IdempotencyKey& key) {
  return WithErrorInfo(
      absl::AlreadyExistsError(absl::StrCat(
          "request_id ", key.request_id,
          " was already used for another request; use a new request_id for a new request")),
      kRequestIdReusedReason, {{"request_id", key.request_id}});
}

absl::Status RequestIdResultGoneError(const IdempotencyKey& key) {
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat(
          "the request with request_id ", key.request_id,
          " succeeded, but a user it created has since been deleted")),
      kRequestIdResultGoneReason, {{"request_id", key.request_id}});
}

}  // namespace pbx
