#ifndef PBX_SERVER_CORE_ENDPOINT_PROFILE_H_
#define PBX_SERVER_CORE_ENDPOINT_PROFILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pbx {

// One PJSIP option line ("rtp_symmetric=yes"), name and value already checked
// against the allow-list and its grammar.
struct ProfileOption {
  std::string name;
  std::string value;

  friend bool operator==(const ProfileOption& a, const ProfileOption& b) {
    return a.name == b.name && a.value == b.value;
  }
  friend bool operator!=(const ProfileOption& a, const ProfileOption& b) { return !(a == b); }
};

// The PJSIP options every generated endpoint and AOR get, in the order they
// are rendered. Only ParseEndpointProfile and DefaultEndpointProfile make
// one, so nothing outside the allow-list reaches a config file (and the
// renderer re-checks with ValidateEndpointProfile, in case one was built by
// hand).
struct EndpointProfile {
  std::vector<ProfileOption> endpoint;
  std::vector<ProfileOption> aor;

  friend bool operator==(const EndpointProfile& a, const EndpointProfile& b) {
    return a.endpoint == b.endpoint && a.aor == b.aor;
  }
  friend bool operator!=(const EndpointProfile& a, const EndpointProfile& b) { return !(a == b); }
};

// Today's options plus qualify_frequency (so registrations have a round trip
// time):
//   endpoint: disallow=all, allow=ulaw,alaw, direct_media=no
//   aor:      max_contacts=1, remove_existing=yes, qualify_frequency=60
EndpointProfile DefaultEndpointProfile();

// The object a profile option belongs to.
enum class ProfileObject { kEndpoint, kAor };

// One entry of the allow-list, for documentation and tests.
struct ProfileOptionSpec {
  const char* name;
  ProfileObject object;
  // The accepted values, as error messages and README.md state them.
  const char* grammar;
  // The portal's default; nullptr: not rendered unless set (Asterisk's own
  // default applies).
  const char* default_value;
};

// Every option a profile may hold, in rendering order (the order of the
// lines in each section, whatever order a file sets them in). "disallow" is
// listed but cannot be set: it is always "all", rendered right before allow,
// so allow alone decides the codecs.
const std::vector<ProfileOptionSpec>& EndpointProfileAllowList();

// The default profile with the options `text` sets replaced. `text` is lines
// of `name = value` (spaces around both ignored), blank lines and comment
// lines starting with '#' or ';'. The option's name decides whether it goes
// on the endpoint or the AOR. Values are checked against the option's
// grammar and rendered in one canonical spelling (booleans as yes/no, enum
// values and codecs in lower case, numbers without leading zeros), so equal
// settings always render equal bytes.
// INVALID_ARGUMENT, naming the line number and option of every bad line: an
// unknown option, a malformed value, an option set twice, a line that is not
// `name = value`.
absl::StatusOr<EndpointProfile> ParseEndpointProfile(absl::string_view text);

// OK when every option of `profile` is on the allow-list for its object, in
// rendering order, at most once, with a value already in canonical form, and
// the endpoint has disallow=all directly before allow. What the renderer
// checks before any option reaches a file. INTERNAL otherwise (a profile is
// only ever made by the functions above).
absl::Status ValidateEndpointProfile(const EndpointProfile& profile);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_ENDPOINT_PROFILE_H_
