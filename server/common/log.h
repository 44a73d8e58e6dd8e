#ifndef PBX_SERVER_COMMON_LOG_H_
#define PBX_SERVER_COMMON_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace pbx {

using LogFields =
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>;

// One JSON object per line on stderr, so log shippers need no parser of ours.
// Callers must never pass secrets (SIP passwords, database URLs).
void LogInfo(absl::string_view message, LogFields fields = {});
void LogWarning(absl::string_view message, LogFields fields = {});
void LogError(absl::string_view message, LogFields fields = {});

// The JSON line LogInfo and friends write, without the newline.
std::string FormatLogLine(absl::string_view level, absl::string_view message,
                          LogFields fields);

}  // namespace pbx

#endif  // PBX_SERVER_COMMON_LOG_H_
