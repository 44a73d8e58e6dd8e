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
// Asterisk hosts hold registered. Users come from the store, contacts from
// one CLI round trip per Asterisk host per call, every host read side by side
// over its own session; nothing is written anywhere.
//
// Errors: INVALID_ARGUMENT (malformed id), NOT_FOUND (no such user),
// UNAVAILABLE when the database cannot be reached, or when no Asterisk host
// (or daemon) can be. A host that cannot be read while another can is no
// error: the answer names it with its reason (RegistrationHost). A failure on
// a host is logged whole; the caller gets its summary (no host address or
// command).
class RegistrationOperations {
 public:
  // One Asterisk host registrations are read from: its name
  // (PBX_ASTERISK_HOSTS) and how it is reached.
  struct NamedHost {
    std::string name;
    AsteriskHost* host;
  };

  // `hosts` (at least one) in configuration order; `asterisk_program` is how
  // to invoke asterisk on them, as for Apply.
  RegistrationOperations(UserStore& users, std::vector<NamedHost> hosts,
                         std::string asterisk_program);
  // One host, named "asterisk".
  RegistrationOperations(UserStore& users, AsteriskHost& host, std::string asterisk_program)
      : RegistrationOperations(users, {{"asterisk", &host}}, std::move(asterisk_program)) {}

  absl::StatusOr<RegistrationLookup> GetRegistration(absl::string_view id);
  // One entry per user, in extension order.
  absl::StatusOr<RegistrationListing> ListRegistrations();

 private:
  // What the hosts that could be read hold, and how each read went.
  struct LiveRegistrations {
    RegistrationsByExtension contacts;
    std::vector<RegistrationHost> hosts;
    std::vector<std::string> unread_hosts;
  };
  // Every extension's contacts, or `extension`'s alone, from every host; an
  // error only when no host could be read.
  absl::StatusOr<LiveRegistrations> ReadLiveRegistrations(std::optional<int> extension);
  absl::StatusOr<RegistrationsByExtension> ReadHost(const NamedHost& host,
                                                    std::optional<int> extension);

  UserStore& users_;
  const std::vector<NamedHost> hosts_;
  const std::string asterisk_program_;
};

}  // namespace pbx

#endif  // PBX_SERVER_REGISTRATIONS_REGISTRATION_OPERATIONS_H_
