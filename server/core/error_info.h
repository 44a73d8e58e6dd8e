#ifndef PBX_SERVER_CORE_ERROR_INFO_H_
#define PBX_SERVER_CORE_ERROR_INFO_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pbx {

// The domain of every reason below, as clients see it in google.rpc.ErrorInfo.
inline constexpr absl::string_view kErrorDomain = "pbx.synergycall";

// A machine-readable reason for an error, with metadata such as the audit id;
// clients receive it as a google.rpc.ErrorInfo detail.
struct ErrorInfo {
  std::string reason;
  std::map<std::string, std::string> metadata;
};

// `status` carrying `reason` and `metadata`.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata);

// The ErrorInfo `status` carries, if any.
std::optional<ErrorInfo> ErrorInfoOf(const absl::Status& status);

// `detail` (the full story, for the audit and the log: host addresses, paths,
// commands) behind `summary`, which alone is fit for callers:
// "summary: detail", with the summary kept apart for PublicMessage. A
// summary of `detail`'s own is kept after this one ("summary: its summary").
absl::Status Summarized(const absl::Status& detail, absl::string_view summary);

// What a caller may be told of `status`: its summary when it has one, else
// its message.
std::string PublicMessage(const absl::Status& status);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_ERROR_INFO_H_
