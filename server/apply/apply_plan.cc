#include "server/apply/apply_plan.h"

#include <utility>

#include "server/common/annotate.h"
#include "server/core/error_info.h"
#include "server/core/sha256.h"

namespace pbx {

namespace {

absl::StatusOr<ApplyPlan> Render(std::vector<ProvisionedExtension> extensions,
                                 const ConfigPaths& paths, const EndpointProfile& profile) {
  absl::StatusOr<RenderedConfig> config = RenderAsteriskConfig(extensions, profile);
  if (!config.ok()) return Summarized(config.status(), "cannot render the configuration");
  ApplyPlan plan;
  plan.files = {{paths.pjsip, std::move(config->pjsip)},
                {paths.dialplan, std::move(config->dialplan)}};
  for (const FileWrite& file : plan.files) plan.file_sha256.push_back(Sha256Hex(file.content));
  plan.lines = std::make_shared<const ExtensionLines>(plan.files[0].content, plan.files[1].content);
  plan.content_hash = std::move(config->content_hash);
  plan.expected = ExpectedObjectsFor(extensions);
  plan.extensions = std::move(extensions);
  return plan;
}

}  // namespace

absl::StatusOr<ApplyPlan> PlanApply(UserStore& users, const ConfigPaths& paths,
                                    const EndpointProfile& profile, PhaseClock* clock) {
  absl::StatusOr<std::vector<ProvisionedExtension>> extensions = users.ReadProvisioning();
  // The store's errors are fit for callers already.
  if (!extensions.ok()) return Annotate(extensions.status(), "cannot read the users");
  if (clock != nullptr) clock->Mark("read");
  absl::StatusOr<ApplyPlan> plan = Render(std::move(*extensions), paths, profile);
  if (plan.ok() && clock != nullptr) clock->Mark("render");
  return plan;
}

absl::StatusOr<std::shared_ptr<const ApplyPlan>> Planner::Plan(PhaseClock* clock,
                                                                const OnRead& on_read) {
  std::string known;
  std::shared_ptr<const ApplyPlan> kept;
  {
    absl::MutexLock lock(&mu_);
    known = fingerprint_;
    kept = plan_;
  }
  absl::StatusOr<UserStore::Provisioning> read =
      users_.ReadProvisioningUnless(kept != nullptr ? known : "");
  const bool unchanged = read.ok() && kept != nullptr && !read->changed;
  if (on_read) on_read(unchanged ? kept : nullptr);
  if (!read.ok()) return Annotate(read.status(), "cannot read the users");
  if (clock != nullptr) clock->Mark("read");
  if (unchanged) {
    if (clock != nullptr) clock->Mark("render");
    return kept;
  }
  absl::StatusOr<ApplyPlan> plan = Render(std::move(read->extensions), paths_, profile_);
  if (!plan.ok()) return plan.status();
  if (clock != nullptr) clock->Mark("render");
  auto rendered = std::make_shared<const ApplyPlan>(std::move(*plan));
  absl::MutexLock lock(&mu_);
  fingerprint_ = read->fingerprint;
  plan_ = rendered;
  return rendered;
}

}  // namespace pbx
