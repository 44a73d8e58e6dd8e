#include "server/store/pg_create_requests.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace pbx {

absl::StatusOr<std::optional<std::vector<std::string>>> ClaimRequestId(
    pqxx::work& transaction, const IdempotencyKey& key, const std::string& actor_key_id) {
  const std::string retention =
      absl::StrCat(absl::ToInt64Seconds(kRequestIdRetention), " seconds");
  transaction.exec_params(
      "DELETE FROM create_requests WHERE created_at < now() - $1::interval", retention);
  // Waits on a claim another transaction holds on the id until that one ends.
  pqxx::result claimed = transaction.exec_params(
      "INSERT INTO create_requests (request_id, actor_key_id, method, fingerprint)"
      " VALUES ($1::uuid, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING RETURNING 1",
      key.request_id, actor_key_id, key.method, key.fingerprint);
  if (!claimed.empty()) return std::nullopt;
  pqxx::row earlier = transaction.exec_params1(
      "SELECT actor_key_id, method, fingerprint, array_to_string(user_ids, ',')"
      " FROM create_requests WHERE request_id = $1::uuid",
      key.request_id);
  if (earlier[0].as<std::string>() != actor_key_id || earlier[1].as<std::string>() != key.method ||
      earlier[2].as<std::string>() != key.fingerprint) {
    return RequestIdReusedError(key);
  }
  return std::optional<std::vector<std::string>>(
      absl::StrSplit(earlier[3].as<std::string>(), ',', absl::SkipEmpty()));
}

void RecordCreatedUsers(pqxx::work& transaction, const IdempotencyKey& key,
                        const std::vector<std::string>& user_ids) {
  // UUIDs need no quoting inside an array literal.
  transaction.exec_params(
      "UPDATE create_requests SET user_ids = $2::uuid[] WHERE request_id = $1::uuid",
      key.request_id, absl::StrCat("{", absl::StrJoin(user_ids, ","), "}"));
}

}  // namespace pbx
