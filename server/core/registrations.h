#ifndef PBX_SERVER_CORE_REGISTRATIONS_H_
#define PBX_SERVER_CORE_REGISTRATIONS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pbx {

// One device registered for an extension: a contact of the extension's AOR as
// the live Asterisk holds it.
struct ContactRegistration {
  // The Asterisk host (its PBX_ASTERISK_HOSTS name) that holds this contact;
  // a phone registers with one host or several, one contact on each.
  std::string host;
  // The contact URI the phone registered, whole (the CLI tables cut long ones).
  std::string uri;
  std::string user_agent;
  // Asterisk's qualify status label: Avail, Unavail, NonQual, Unknown, ...
  std::string status;
  // Round-trip time of the last qualify; 0 when the contact is not qualified.
  double rtt_ms = 0;
  // When the registration lapses unless the phone refreshes it.
  std::optional<absl::Time> expires_at;
};

// Extension -> its registered contacts (sorted by URI); an extension without
// any is absent.
using RegistrationsByExtension = std::map<int, std::vector<ContactRegistration>>;

// One Asterisk host the registrations were read from, and whether it could
// be read.
struct RegistrationHost {
  // Its PBX_ASTERISK_HOSTS name and where it is reached.
  std::string name;
  std::string address;
  // Why it could not be read, fit for callers (no address or command); empty
  // when it was read.
  std::string error_detail;
};

// A user's extension with what the live PBX holds for it.
struct UserRegistration {
  std::string user_id;
  int extension = 0;
  // Every host's, in host order, each host's by URI. Empty: registered on no
  // host that could be read.
  std::vector<ContactRegistration> contacts;
  // The hosts that could not be read: no contact is no claim about them.
  std::vector<std::string> unread_hosts;
};

// Every user's registration and the hosts it was read from.
struct RegistrationListing {
  std::vector<UserRegistration> registrations;  // in extension order
  std::vector<RegistrationHost> hosts;          // in configuration order
};

// One user's registration and the hosts it was read from.
struct RegistrationLookup {
  UserRegistration registration;
  std::vector<RegistrationHost> hosts;  // in configuration order
};

// Joins the two CLI reads of the registrations, both captured at about the
// same moment:
//   `contact_statuses`: `pjsip show aors` (or `pjsip show aor N`, or `pjsip
//     show contacts`), one line per live contact, "Contact:  1000/sip:1000@192.0.2.1:5060  4887ab837e
//     NonQual  -nan": the AOR, the contact URI (cut to the column width), the
//     first 10 characters of the contact's hash, the status and the RTT;
//   `contact_records`: `database show registrar/contact`, the registrar's
//     stored record of each contact, "/registrar/contact/1000;@<hash>: {json}"
//     with uri, user_agent and expiration_time (Unix seconds).
// A contact counts when both name it (same AOR, same hash): the listing is
// Asterisk's live view (it drops expired contacts as it reads them, and shows
// only configured AORs, where the database keeps records of deleted ones and
// holds no static contacts), the record has the details. Only AORs named by a
// portal extension ("1000".."1999") are read; other lines, and records that do
// not parse, are skipped.
RegistrationsByExtension ParseRegistrations(absl::string_view contact_statuses,
                                            absl::string_view contact_records);

// Adds `host_contacts` (one host's, as parsed) to `all`, each contact naming
// `host`, after the contacts of the hosts added before: several hosts' reads,
// added in configuration order, become one map.
void AddHostRegistrations(absl::string_view host, RegistrationsByExtension host_contacts,
                          RegistrationsByExtension& all);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_REGISTRATIONS_H_
