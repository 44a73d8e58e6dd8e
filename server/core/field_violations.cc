#include "server/core/field_violations.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/core/status_payload.h"

namespace pbx {
namespace {

// Field, description, field, description, ...
constexpr absl::string_view kFieldViolationsPayload = "pbx.core/field-violations";

}  // namespace

absl::Status InvalidFieldsError(absl::string_view what,
                                const std::vector<FieldViolation>& violations) {
  std::vector<std::string> parts;
  std::vector<std::string> items;
  for (const FieldViolation& violation : violations) {
    parts.push_back(absl::StrCat(violation.field, ": ", violation.description));
    items.push_back(violation.field);
    items.push_back(violation.description);
  }
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat(what, ": ", absl::StrJoin(parts, "; ")));
  SetStringListPayload(status, kFieldViolationsPayload, items);
  return status;
}

std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> violations;
  const std::optional<std::vector<std::string>> items =
      StringListPayload(status, kFieldViolationsPayload);
  if (!items || items->size() % 2 != 0) return violations;
  for (size_t i = 0; i < items->size(); i += 2) {
    violations.push_back({(*items)[i], (*items)[i + 1]});
  }
  return violations;
}

}  // namespace pbx
