#ifndef PBX_SERVER_CORE_LIVE_STATE_H_
#define PBX_SERVER_CORE_LIVE_STATE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/core/asterisk_config.h"

namespace pbx {

// Object ids named by `pjsip list endpoints|aors|auths` output (lines such as
// "Endpoint:  1000   Unavailable   0 of inf" or "Auth:  1000-auth/1000"),
// sorted. The header line ("Endpoint:  <Endpoint/CID....>") is skipped.
std::vector<std::string> ParsePjsipList(absl::string_view output, absl::string_view kind);

// Extension -> first-priority application of a `dialplan show CONTEXT` output
// (e.g. "1000" -> "Dial(PJSIP/1000,25)"). Empty when the context does not exist.
std::map<std::string, std::string> ParseDialplanShow(absl::string_view output);

struct LiveState {
  std::vector<std::string> endpoints;
  std::vector<std::string> aors;
  std::vector<std::string> auths;
  std::map<std::string, std::string> dialplan;  // extension -> priority 1
};

// Every way the live Asterisk differs from what Apply wrote, one line per
// object ("endpoint 1001: missing", "auth 1005-auth: unexpected"). Objects
// outside the portal's range (a manually configured trunk, say) are not the
// portal's business and are ignored; the synergy-internal context belongs to
// the portal entirely. Empty when they match.
std::vector<std::string> CompareLiveState(const ExpectedObjects& expected,
                                          const LiveState& live);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_LIVE_STATE_H_
