#include "server/store/migrations.h"

#include <map>

#include <pqxx/pqxx>
#include <string>


#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/core/sha256.h"
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
        " sha256 text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
  }
  std::map<int, std::string> applied;  // version -> sha256 when it was applied
  {
    pqxx::nontransaction query(connection);
    for (const auto& row : query.exec("SELECT version, sha256 FROM schema_migrations")) {
      applied.emplace(row[0].as<int>(), row[1].as<std::string>());
    }
  }
  for (const Migration& migration : migrations) {
    const std::string checksum = Sha256Hex(migration.sql);
    if (auto it = applied.find(migration.version); it != applied.end()) {
      // An applied migration never changes: the database would silently lack
      // what the new text adds. Refuse to run against it instead.
      if (it->second != checksum) {
        return absl::FailedPreconditionError(absl::StrCat(
            "migration ", migration.version, " (", migration.name,
            ") differs from the version applied to this database; add a new migration "
            "instead of editing an applied one"));
      }
      continue;
    }
    pqxx::work transaction(connection);
    transaction.exec(std::string(migration.sql));
    transaction.exec_params(
        "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
        migration.version, std::string(migration.name), checksum);
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
