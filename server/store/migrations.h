#ifndef PBX_SERVER_STORE_MIGRATIONS_H_
#define PBX_SERVER_STORE_MIGRATIONS_H_

#include <vector>

#include <pqxx/connection>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pbx {

// One versioned schema change from sql/NNN_name.sql.
struct Migration {
  int version;
  absl::string_view name;
  absl::string_view sql;
};

// The files of sql/, compiled into the binary by the build (see
// server/store/embed_migrations.cmake) so a deployed server cannot run
// against a schema directory of another version.
const std::vector<Migration>& EmbeddedMigrations();

// Applies, in version order, every migration not yet recorded in
// schema_migrations, each in its own transaction. A session advisory lock makes
// concurrent starts of several servers apply each migration exactly once.
absl::Status ApplyMigrations(pqxx::connection& connection,
                             const std::vector<Migration>& migrations);

}  // namespace pbx

#endif  // PBX_SERVER_STORE_MIGRATIONS_H_
