#ifndef PBX_SERVER_APPLY_APPLY_PLAN_H_
#define PBX_SERVER_APPLY_APPLY_PLAN_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/apply/phase_clock.h"
#include "server/asterisk/config_files.h"
#include "server/core/asterisk_config.h"
#include "server/core/config_diff.h"
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
  // The two files, pjsip first, with their target paths, and the sha256
  // (hex) of each.
  std::vector<FileWrite> files;
  std::vector<std::string> file_sha256;
  // sha256 of both bodies: equal hashes mean equal provisioning.
  std::string content_hash;
  // What the live Asterisk must hold once the files are loaded.
  ExpectedObjects expected;
  // Where each extension's lines sit in the two files: Preview compares the
  // host's files against them, and a kept plan is cut only once.
  std::shared_ptr<const ExtensionLines> lines;
};

// Reads the users and renders them; no host I/O. A failure says which step
// failed ("cannot read the users: ...", "cannot render ..."). Marks the phases
// read and render on `clock` when one is given.
// Every generated endpoint and AOR gets `profile`'s options.
absl::StatusOr<ApplyPlan> PlanApply(UserStore& users, const ConfigPaths& paths,
                                    const EndpointProfile& profile, PhaseClock* clock = nullptr);

// PlanApply, rendering again only when the users changed: each call asks the
// database for a fingerprint of every number, user and sealed secret, and
// for the extensions themselves only when it differs from the one of the
// kept plan. An unchanged database then costs one short query instead of
// reading and unsealing every secret and rendering both files (Preview,
// Drift, a no-op Apply). Thread-safe; callers share the plan read-only.
class Planner {
 public:
  Planner(UserStore& users, ConfigPaths paths, EndpointProfile profile)
      : users_(users), paths_(std::move(paths)), profile_(std::move(profile)) {}

  // Marks read and render on `clock` (render is near zero on a kept plan).
  // `on_read`, when given, is called once as soon as the database answered,
  // before any rendering: with the kept plan when the users did not change,
  // else (or when the read failed) with null. It lets a caller decide early
  // what a plan it does not have yet implies.
  using OnRead = std::function<void(std::shared_ptr<const ApplyPlan> unchanged)>;
  absl::StatusOr<std::shared_ptr<const ApplyPlan>> Plan(PhaseClock* clock = nullptr,
                                                         const OnRead& on_read = nullptr);

 private:
  UserStore& users_;
  const ConfigPaths paths_;
  const EndpointProfile profile_;
  absl::Mutex mu_;
  std::string fingerprint_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const ApplyPlan> plan_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pbx

#endif  // PBX_SERVER_APPLY_APPLY_PLAN_H_
