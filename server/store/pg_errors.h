#ifndef PBX_SERVER_STORE_PG_ERRORS_H_
#define PBX_SERVER_STORE_PG_ERRORS_H_

#include <exception>
#include <string>

#include "absl/status/status.h"

namespace pbx {

// Translates the exception in flight from libpqxx (or anything else) into a
// status. Database outages become UNAVAILABLE with a message fit for clients;
// the full driver message only goes to the log, as it may name hosts.
absl::Status StatusFromDatabaseException(const std::exception_ptr& error);

// Whether the SQLSTATE says the server takes no writes (25006: a standby,
// which a URL naming several servers may reach after a failover): an outage
// (UNAVAILABLE), not an error of the request, and the connection is of no
// further use.
bool IsReadOnlyServer(const std::string& sqlstate);

// The UNAVAILABLE every caller returns while the database cannot be reached.
absl::Status DatabaseUnavailableError();

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_ERRORS_H_
