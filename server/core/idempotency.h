#ifndef PBX_SERVER_CORE_IDEMPOTENCY_H_
#define PBX_SERVER_CORE_IDEMPOTENCY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/user.h"

namespace pbx {

// How long a request id (AIP-155) is remembered: a retry within this time is
// answered like the first request.
inline constexpr absl::Duration kRequestIdRetention = absl::Hours(24);

// google.rpc.ErrorInfo reasons of the errors below.
inline constexpr char kRequestIdReusedReason[] = "REQUEST_ID_REUSED";
inline constexpr char kRequestIdResultGoneReason[] = "REQUEST_ID_RESULT_DELETED";

// A create's request id with what identifies its request: the method and a
// fingerprint of the validated users, so a retry is told from another request
// that reuses the id.
struct IdempotencyKey {
  std::string request_id;
  std::string method;
  std::string fingerprint;
};

// The key of a create of `users` (already validated) by `method`; nullopt
// without a request id, INVALID_ARGUMENT (field request_id) when it is not a
// UUID.
absl::StatusOr<std::optional<IdempotencyKey>> IdempotencyKeyFor(
    absl::string_view request_id, absl::string_view method, const std::vector<NewUser>& users);

// ALREADY_EXISTS: the id was used for another request.
absl::Status RequestIdReusedError(const IdempotencyKey& key);
// FAILED_PRECONDITION: the request succeeded, but a user it created has since
// been deleted, so its answer cannot be given again.
absl::Status RequestIdResultGoneError(const IdempotencyKey& key);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_IDEMPOTENCY_H_
