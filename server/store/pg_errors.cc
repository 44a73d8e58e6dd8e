#include "server/store/pg_errors.h"

#include <string>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "server/common/log.h"

namespace pbx {
namespace {

// SQLSTATE classes and codes that mean "the database is not there right now"
// rather than "this request is wrong".
bool IsOutage(const std::string& sqlstate) {
  return absl::StartsWith(sqlstate, "08") ||  // connection exception
         absl::StartsWith(sqlstate, "53") ||  // insufficient resources
         absl::StartsWith(sqlstate, "57P") ||  // shutdown, crash, cannot connect now
         sqlstate == "57014" ||                // statement timeout / cancel
         IsReadOnlyServer(sqlstate);
}

}  // namespace

bool IsReadOnlyServer(const std::string& sqlstate) {
  return sqlstate == "25006";  // read_only_sql_transaction
}

absl::Status DatabaseUnavailableError() {
  return absl::UnavailableError("database unavailable; try again shortly");
}

absl::Status StatusFromDatabaseException(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::broken_connection& e) {
    LogWarning("database connection failed", {{"error", e.what()}});
    return DatabaseUnavailableError();
  } catch (const pqxx::in_doubt_error& e) {
    LogError("database commit outcome unknown", {{"error", e.what()}});
    return absl::UnavailableError(
        "database connection lost during commit; check the result before "
        "retrying");
  } catch (const pqxx::transaction_rollback& e) {
    return absl::AbortedError("transaction conflict; retry the request");
  } catch (const pqxx::sql_error& e) {
    if (IsOutage(e.sqlstate())) {
      LogWarning("database unavailable",
                 {{"sqlstate", e.sqlstate()}, {"error", e.what()}});
      return DatabaseUnavailableError();
    }
    LogError("database error", {{"sqlstate", e.sqlstate()}, {"error", e.what()}});
    return absl::InternalError("internal database error");
  } catch (const std::exception& e) {
    LogError("unexpected error", {{"error", e.what()}});
    return absl::InternalError("internal error");
  }
}

}  // namespace pbx
