#ifndef PBX_SERVER_APPLY_APPLY_PLAN_H_
#define PBX_SERVER_APPLY_APPLY_PLAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/apply/phase_clock.h"
#include "server/asterisk/config_files.h"
#include "server/core/asterisk_config.h"
#include "server/store/user_store.h"

namespace pbx {

// Where the rendered files go on the Asterisk host.
struct ConfigPaths {
  // FR-007 and FR-008.
  std::string pjsip = "/etc/asterisk/pjsip.d/synergycall/generated_endpoints.conf";
  std::string dialplan = "/etc/asterisk/extensions.d/synergycall/generated_routing.conf";
};

// What an Apply would make the Asterisk host hold, decided before anything is
// sent to it: the users as they are in the database, rendered.
struct ApplyPlan {
  std::vector<ProvisionedExtension> extensions;
  // The two files, pjsip first, with their target paths.
  std::vector<FileWrite> files;
  // sha256 of both bodies: equal hashes mean equal provisioning.
  std::string content_hash;
  // What the live Asterisk must hold once the files are loaded.
  ExpectedObjects expected;
};

// Reads the users and renders them; no host I/O. A failure says which step
// failed ("cannot read the users: ...", "cannot render ..."). Marks the phases
// read and render on `clock` when one is given.
// Every generated endpoint and AOR gets `profile`'s options.
absl::StatusOr<ApplyPlan> PlanApply(UserStore& users, const ConfigPaths& paths,
                                    const EndpointProfile& profile, PhaseClock* clock = nullptr);

}  // namespace pbx

#endif  // PBX_SERVER_APPLY_APPLY_PLAN_H_
