#include "server/apply/apply_plan.h"

#include <utility>

#include "server/common/annotate.h"
#include "server/core/error_info.h"

namespace pbx {

absl::StatusOr<ApplyPlan> PlanApply(UserStore& users, const ConfigPaths& paths,
                                    const EndpointProfile& profile, PhaseClock* clock) {
  absl::StatusOr<std::vector<ProvisionedExtension>> extensions = users.ReadProvisioning();
  // The store's errors are fit for callers already.
  if (!extensions.ok()) return Annotate(extensions.status(), "cannot read the users");
  if (clock != nullptr) clock->Mark("read");
  absl::StatusOr<RenderedConfig> config = RenderAsteriskConfig(*extensions, profile);
  if (!config.ok()) return Summarized(config.status(), "cannot render the configuration");
  ApplyPlan plan;
  plan.files = {{paths.pjsip, std::move(config->pjsip)},
                {paths.dialplan, std::move(config->dialplan)}};
  plan.content_hash = std::move(config->content_hash);
  plan.expected = ExpectedObjectsFor(*extensions);
  plan.extensions = std::move(*extensions);
  if (clock != nullptr) clock->Mark("render");
  return plan;
}

}  // namespace pbx
