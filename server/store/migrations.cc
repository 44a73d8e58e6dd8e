#include "server/store/migrations.h"

#include <set>

#include <pqxx/pqxx>
#include <string>


#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/store/advisory_locks.h"
#include "server/store/pg_errors.h"

namespace pbx {
namespace {

absl::Status ApplyPending(pqxx::connection& connection,
                          const std::vector<Migration>& migrations) {
  {
    pqxx::nontransaction setup(connection);
    setup.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
  }
  std::set<int> applied;
  {
    pqxx::nontransaction query(connection);
    for (const auto& row : query.exec("SELECT version FROM schema_migrations")) {
      applied.insert(row[0].as<int>());
    }
  }
  for (const Migration& migration : migrations) {
    if (applied.count(migration.version) != 0) continue;
    pqxx::work transaction(connection);
    transaction.exec(std::string(migration.sql));
    transaction.exec_params(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
        migration.version, std::string(migration.name));
    transaction.commit();
    LogInfo("applied migration", {{"version", absl::StrCat(migration.version)},
                                  {"name", migration.name}});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMigrations(pqxx::connection& connection,
                             const std::vector<Migration>& migrations) {
  try {
    pqxx::nontransaction(connection).exec_params(
        "SELECT pg_advisory_lock($1)", kMigrationLockKey);
    absl::Status status;
    try {
      status = ApplyPending(connection, migrations);
    } catch (...) {
      status = StatusFromDatabaseException(std::current_exception());
    }
    if (connection.is_open()) {
      pqxx::nontransaction(connection).exec_params(
          "SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    }
    return status;
  } catch (...) {
    return StatusFromDatabaseException(std::current_exception());
  }
}

}  // namespace pbx
