#ifndef PBX_SERVER_CORE_STATUS_PAYLOAD_H_
#define PBX_SERVER_CORE_STATUS_PAYLOAD_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pbx {

// Error details travel inside an absl::Status as payloads the core owns: a
// list of strings under a type URL of ours. Only the transport turns them into
// API types (google.rpc.BadRequest, google.rpc.ErrorInfo), so the core needs
// no protobuf.
void SetStringListPayload(absl::Status& status, absl::string_view type_url,
                          const std::vector<std::string>& items);

// The list stored under `type_url`; nullopt when absent or malformed.
std::optional<std::vector<std::string>> StringListPayload(const absl::Status& status,
                                                          absl::string_view type_url);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_STATUS_PAYLOAD_H_
