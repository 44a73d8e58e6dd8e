#include "server/core/field_violations.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"

namespace pbx {

absl::Status InvalidFieldsError(absl::string_view what,
                                const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest bad_request;
  std::vector<std::string> parts;
  for (const FieldViolation& violation : violations) {
    auto* proto = bad_request.add_field_violations();
    proto->set_field(violation.field);
    proto->set_description(violation.description);
    parts.push_back(absl::StrCat(violation.field, ": ", violation.description));
  }
  absl::Status status = absl::InvalidArgumentError(
      absl::StrCat(what, ": ", absl::StrJoin(parts, "; ")));
  status.SetPayload(kBadRequestTypeUrl,
                    absl::Cord(bad_request.SerializeAsString()));
  return status;
}

std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> violations;
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  google::rpc::BadRequest bad_request;
  if (!payload || !bad_request.ParseFromString(std::string(*payload))) {
    return violations;
  }
  for (const auto& proto : bad_request.field_violations()) {
    violations.push_back({proto.field(), proto.description()});
  }
  return violations;
}

}  // namespace pbx
