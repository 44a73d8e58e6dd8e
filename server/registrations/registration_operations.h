#ifndef PBX_SERVER_REGISTRATIONS_REGISTRATION_OPERATIONS_H_
#define PBX_SERVER_REGISTRATIONS_REGISTRATION_OPERATIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/asterisk/asterisk_host.h"
#include "server/core/registrations.h"
#include "server/store/user_store.h"

namespace pbx {

// The use cases behind RegistrationService: which users' phones the live
// Asterisk holds registered. Users come from the store, contacts from one CLI
// round trip to the Asterisk host per call; nothing is written anywhere.
//
// Errors: INVALID_ARGUMENT (malformed id), NOT_FOUND (no such user),
// UNAVAILABLE when the database, the Asterisk host or the Asterisk daemon
// cannot be reached. A failure on the host is logged whole; the caller gets
// its summary (no host address or command).
class RegistrationOperations {
 public:
  // `asterisk_program` is how to invoke asterisk on the host, as for Apply.
  RegistrationOperations(UserStore& users, AsteriskHost& host, std::string asterisk_program)
      : users_(users), host_(host), asterisk_program_(std::move(asterisk_program)) {}

  absl::StatusOr<UserRegistration> GetRegistration(absl::string_view id);
  // One entry per user, in extension order.
  absl::StatusOr<std::vector<UserRegistration>> ListRegistrations();

 private:
  // Every extension's contacts, or `extension`'s alone.
  absl::StatusOr<RegistrationsByExtension> ReadLiveRegistrations(std::optional<int> extension);

  UserStore& users_;
  AsteriskHost& host_;
  const std::string asterisk_program_;
};

}  // namespace pbx

#endif  // PBX_SERVER_REGISTRATIONS_REGISTRATION_OPERATIONS_H_
