#ifndef PBX_SERVER_CORE_ASTERISK_CONFIG_H_
#define PBX_SERVER_CORE_ASTERISK_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/core/endpoint_profile.h"

namespace pbx {

// What Apply needs of a user: only numbers and the generated secret reach
// Asterisk. Names, emails and metadata never do, so nothing an administrator
// types can change the structure of a config file.
struct ProvisionedExtension {
  int number = 0;
  std::string sip_secret;
};

// The dialplan context every portal extension lives in and dials from.
inline constexpr char kInternalContext[] = "synergy-internal";
// How long Dial() rings a phone, in seconds (FR-008).
inline constexpr int kDialTimeoutSeconds = 25;

struct RenderedConfig {
  // generated_endpoints.conf: endpoint, auth and aor per extension.
  std::string pjsip;
  // generated_routing.conf: the [synergy-internal] context.
  std::string dialplan;
  // sha256 (hex) of both bodies, also named in each file's header; equal
  // hashes mean equal provisioning.
  std::string content_hash;
};

// Renders both files, sorted by extension and byte-for-byte deterministic.
// INTERNAL when the input breaks an invariant the database guarantees (number
// out of 1000-1999, duplicate number, secret outside [A-Za-z0-9]{22,64}):
// such data must never be written to the PBX; likewise when `profile` fails
// ValidateEndpointProfile. Every endpoint and AOR gets `profile`'s options,
// between its fixed lines (type, context / auth, aors) in the profile's order.
absl::StatusOr<RenderedConfig> RenderAsteriskConfig(
    std::vector<ProvisionedExtension> extensions, const EndpointProfile& profile);

// The object ids Asterisk must hold after loading a rendered config; Apply
// compares them with the live state.
struct ExpectedObjects {
  std::vector<std::string> endpoints;
  std::vector<std::string> aors;
  std::vector<std::string> auths;
  std::vector<std::string> dialplan_extensions;
};
ExpectedObjects ExpectedObjectsFor(const std::vector<ProvisionedExtension>& extensions);

// The auth object id of an extension.
std::string AuthIdFor(int number);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_ASTERISK_CONFIG_H_
