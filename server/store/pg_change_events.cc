#include "server/store/pg_change_events.h"

#include <cstdint>

#include "server/store/json_columns.h"

namespace pbx {

void AppendChangeEvent(pqxx::work& transaction, const ChangeActor& actor,
                       absl::string_view action, absl::string_view user_id, int extension,
                       const std::vector<FieldChange>& changes) {
  transaction.exec_params(
      "INSERT INTO user_change_events"
      " (actor_key_id, actor_key_name, request_id, action, user_id, extension, changes)"
      " VALUES ($1, $2, $3, $4, $5::uuid, $6, $7::jsonb)",
      actor.key_id, actor.key_name, actor.request_id, std::string(action), std::string(user_id),
      extension, ChangesToJson(changes));
}

std::vector<UserChangeEvent> ReadChangeEvents(pqxx::connection& connection, int limit,
                                              absl::string_view user_id) {
  // The user filter is a parameter either way, so the plan is the same text.
  pqxx::result result = pqxx::nontransaction(connection).exec_params(
      "SELECT id, (extract(epoch FROM occurred_at) * 1000000)::bigint, actor_key_id,"
      " actor_key_name, request_id, action, user_id::text, extension, changes::text"
      " FROM user_change_events"
      " WHERE $2 = '' OR user_id = NULLIF($2, '')::uuid"
      " ORDER BY id DESC LIMIT $1",
      limit, std::string(user_id));
  std::vector<UserChangeEvent> events;
  events.reserve(result.size());
  for (const auto& row : result) {
    UserChangeEvent event;
    event.id = row[0].as<int64_t>();
    event.time = absl::FromUnixMicros(row[1].as<int64_t>());
    event.actor = {row[2].as<std::string>(), row[3].as<std::string>(), row[4].as<std::string>()};
    event.action = row[5].as<std::string>();
    event.user_id = row[6].as<std::string>();
    event.extension = row[7].as<int>();
    event.changes = ChangesFromJson(row[8].as<std::string>());
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace pbx
