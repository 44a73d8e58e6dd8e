#ifndef PBX_SERVER_CORE_FIELD_VIOLATIONS_H_
#define PBX_SERVER_CORE_FIELD_VIOLATIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pbx {

// One invalid request field, reported to the client as a
// google.rpc.BadRequest.FieldViolation.
struct FieldViolation {
  std::string field;
  std::string description;
};

// An INVALID_ARGUMENT whose message names every violation and whose payload
// lists them one by one. `violations` must not be empty.
absl::Status InvalidFieldsError(absl::string_view what,
                                const std::vector<FieldViolation>& violations);

// The violations carried by `status`, empty when it carries none.
std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_FIELD_VIOLATIONS_H_
