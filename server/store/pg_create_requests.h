#ifndef PBX_SERVER_STORE_PG_CREATE_REQUESTS_H_
#define PBX_SERVER_STORE_PG_CREATE_REQUESTS_H_

#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "server/core/idempotency.h"

namespace pbx {

// Request ids of creates (AIP-155), in the create's own transaction.
//
// Claims `key` before the create: nullopt when this request is the first
// with its id (the claim commits or rolls back with the create). A request
// with the same id that is still running holds its claim, so this waits for
// it to end; then the ids of the users it created, in order, when it was the
// same request by the same API key (`actor_key_id`), or ALREADY_EXISTS when it
// was another (another key's request included: its answer holds SIP
// passwords). Ids older than kRequestIdRetention are forgotten here too.
absl::StatusOr<std::optional<std::vector<std::string>>> ClaimRequestId(
    pqxx::work& transaction, const IdempotencyKey& key, const std::string& actor_key_id);

// Records the users the claimed request created.
void RecordCreatedUsers(pqxx::work& transaction, const IdempotencyKey& key,
                        const std::vector<std::string>& user_ids);

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_CREATE_REQUESTS_H_
