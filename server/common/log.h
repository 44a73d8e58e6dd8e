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

// The JSON line LogInfo and friends write, without the newline. Carries the
// "request_id" of the ScopedLogRequestId active on this thread, if any.
std::string FormatLogLine(absl::string_view level, absl::string_view message,
                          LogFields fields);

// While alive, every line this thread logs carries "request_id": request_id,
// so one request's lines can be found among concurrent ones. A sync gRPC
// server runs each RPC on one thread, which makes a thread-local enough.
// Nests: the destructor restores the id that was active before.
class ScopedLogRequestId {
 public:
  explicit ScopedLogRequestId(std::string request_id);
  ~ScopedLogRequestId();
  ScopedLogRequestId(const ScopedLogRequestId&) = delete;
  ScopedLogRequestId& operator=(const ScopedLogRequestId&) = delete;

 private:
  std::string previous_;
};

}  // namespace pbx

#endif  // PBX_SERVER_COMMON_LOG_H_
