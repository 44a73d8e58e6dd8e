#ifndef PBX_SERVER_STORE_PG_CHANGE_EVENTS_H_
#define PBX_SERVER_STORE_PG_CHANGE_EVENTS_H_

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/string_view.h"
#include "server/core/user_changes.h"

namespace pbx {

// The change audit table (user_change_events), written inside the caller's
// transaction so a change and its record commit or vanish together.
void AppendChangeEvent(pqxx::work& transaction, const ChangeActor& actor,
                       absl::string_view action, absl::string_view user_id, int extension,
                       const std::vector<FieldChange>& changes);

// Newest first; only `user_id`'s events unless it is empty.
std::vector<UserChangeEvent> ReadChangeEvents(pqxx::connection& connection, int limit,
                                              absl::string_view user_id);

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_CHANGE_EVENTS_H_
