#ifndef PBX_SERVER_CORE_ERROR_INFO_H_
#define PBX_SERVER_CORE_ERROR_INFO_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pbx {

inline constexpr absl::string_view kErrorInfoTypeUrl =
    "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr absl::string_view kErrorDomain = "pbx.synergycall";

// `status` with a google.rpc.ErrorInfo payload (machine-readable reason and
// metadata such as the audit id), which clients receive as an error detail.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_ERROR_INFO_H_
