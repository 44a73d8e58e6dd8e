#ifndef PBX_TESTS_FUZZ_RENDER_PROPERTY_H_
#define PBX_TESTS_FUZZ_RENDER_PROPERTY_H_

// The property every rendered Asterisk config must have, shared by the
// property test and the fuzz_render harness.

#include <string>
#include <vector>

#include "server/core/asterisk_config.h"

namespace pbx::render_property {

// Whether RenderAsteriskConfig must accept `extensions`: numbers in
// 1000-1999, no number twice, every secret [A-Za-z0-9]{22,64}. An independent
// restatement of the renderer's invariants (the test oracle).
bool SatisfiesInvariants(const std::vector<ProvisionedExtension>& extensions);

// Whether `profile` could have come from the allow-list: every option name
// one of an independent restatement of it (endpoint: disallow, allow,
// direct_media, dtmf_mode, rtp_symmetric, force_rport, rewrite_contact,
// ice_support, transport, timers, 100rel; aor: max_contacts, remove_existing,
// qualify_frequency, qualify_timeout), at most once, disallow=all directly
// before allow, and every value 1-200 characters of [A-Za-z0-9_.,-] (so none
// can end a line, start a comment or open a section). Empty when so, else
// the first problem.
std::string CheckProfileIsSafe(const EndpointProfile& profile);

// Empty when `config` is exactly what `extensions` (valid, any order) must
// render to with `profile` (which passes CheckProfileIsSafe), checked with
// the Asterisk config grammar:
//   pjsip: for each number N ascending, plain sections
//     [N]      type=endpoint context=synergy-internal <profile.endpoint...>
//              auth=N-auth aors=N
//     [N-auth] type=auth auth_type=userpass username=N password=<secret>
//     [N]      type=aor <profile.aor...>
//   (with the default profile: disallow=all allow=ulaw,alaw direct_media=no
//   on the endpoint, max_contacts=1 remove_existing=yes qualify_frequency=60
//   on the AOR)
//   dialplan: one section [synergy-internal] holding, per N ascending,
//     exten => N,1,Dial(PJSIP/N,25)  and  same => n,Hangup()
// and nothing else: no directive, no "(...)" section, no block comment, no
// malformed line; both headers name content_hash, a 64-digit lower-case hex.
// Otherwise a description of the first difference.
std::string CheckRendered(const RenderedConfig& config,
                          const std::vector<ProvisionedExtension>& extensions,
                          const EndpointProfile& profile);

// Empty when the objects the rendered files define, shown the way Asterisk's
// CLI would list them ("pjsip list endpoints|aors|auths", "dialplan show")
// and read back with ParsePjsipList/ParseDialplanShow, match
// ExpectedObjectsFor(extensions) under CompareLiveState; else the differences.
std::string CheckLiveStateRoundTrip(const RenderedConfig& config,
                                    const std::vector<ProvisionedExtension>& extensions);

}  // namespace pbx::render_property

#endif  // PBX_TESTS_FUZZ_RENDER_PROPERTY_H_
