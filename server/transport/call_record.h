#ifndef PBX_SERVER_TRANSPORT_CALL_RECORD_H_
#define PBX_SERVER_TRANSPORT_CALL_RECORD_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/api_key.h"
#include "server/observability/portal_metrics.h"

namespace pbx {

// The method as logged and counted: the path gRPC names
// ("/pbx.v1.UserService/CreateUser") when a service of this binary has it,
// else "unknown", so callers cannot mint log values or metric series.
std::string BoundedMethodName(absl::string_view path);

// What every call leaves behind, whichever stage of the pipeline ended it:
// the metrics, and one "rpc" log line (method, code, duration, the caller's
// key) carrying the request id.
void RecordCall(PortalMetrics& metrics, const std::string& method, absl::StatusCode code,
                absl::Duration latency, const std::string& request_id,
                const std::optional<Principal>& caller);

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_CALL_RECORD_H_
