#ifndef PBX_SERVER_STORE_PG_ERRORS_H_
#define PBX_SERVER_STORE_PG_ERRORS_H_

#include <exception>

#include "absl/status/status.h"

namespace pbx {

// Translates the exception in flight from libpqxx (or anything else) into a
// status. Database outages become UNAVAILABLE with a message fit for clients;
// the full driver message only goes to the log, as it may name hosts.
absl::Status StatusFromDatabaseException(const std::exception_ptr& error);

// The UNAVAILABLE every caller returns while the database cannot be reached.
absl::Status DatabaseUnavailableError();

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_ERRORS_H_
