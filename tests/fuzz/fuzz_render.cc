// libFuzzer harness for RenderAsteriskConfig (server/core/asterisk_config).
//
// Input (see fuzz_input.h): number, secret, number, secret, ... separated by
// "\|". A number field is read with absl::SimpleAtoi (surrounding whitespace
// and a sign allowed); one that does not parse as an int becomes 0. A
// trailing number without a secret gets an empty secret.
//
// Properties: rendering succeeds exactly when the input satisfies the
// renderer's invariants (render_property::SatisfiesInvariants), and fails
// with INTERNAL otherwise. A successful render parses with the Asterisk
// grammar checker into exactly the expected sections and keys
// (render_property::CheckRendered), defines the objects Apply expects
// (CheckLiveStateRoundTrip) and does not depend on the input order.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "server/core/asterisk_config.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/render_property.h"

namespace {

using pbx::fuzz::Fail;

constexpr char kHarness[] = "fuzz_render";

std::string Describe(const std::vector<pbx::ProvisionedExtension>& extensions) {
  std::string out = std::to_string(extensions.size()) + " extensions:";
  for (size_t i = 0; i < extensions.size() && i < 8; ++i) {
    out += " " + std::to_string(extensions[i].number) + "/" +
           std::to_string(extensions[i].sip_secret.size()) + "B";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pbx::fuzz::FieldReader in(data, size);
  std::vector<pbx::ProvisionedExtension> extensions;
  while (!in.done()) {
    pbx::ProvisionedExtension e;
    if (!absl::SimpleAtoi(in.Next(), &e.number)) e.number = 0;
    e.sip_secret = in.Next();
    extensions.push_back(std::move(e));
  }
  const bool valid = pbx::render_property::SatisfiesInvariants(extensions);
  auto config = pbx::RenderAsteriskConfig(extensions);
  if (!config.ok()) {
    if (valid) Fail(kHarness, "valid input refused: " + config.status().ToString());
    if (config.status().code() != absl::StatusCode::kInternal) {
      Fail(kHarness, "invalid input refused with " + config.status().ToString());
    }
    return 0;
  }
  if (!valid) Fail(kHarness, "input breaking an invariant was rendered: " + Describe(extensions));
  if (std::string problem = pbx::render_property::CheckRendered(*config, extensions);
      !problem.empty()) {
    Fail(kHarness, problem);
  }
  if (std::string problem = pbx::render_property::CheckLiveStateRoundTrip(*config, extensions);
      !problem.empty()) {
    Fail(kHarness, "live state after loading the files differs from Apply's expectation:\n" +
                       problem);
  }
  std::reverse(extensions.begin(), extensions.end());
  auto reversed = pbx::RenderAsteriskConfig(extensions);
  if (!reversed.ok() || reversed->pjsip != config->pjsip ||
      reversed->dialplan != config->dialplan || reversed->content_hash != config->content_hash) {
    Fail(kHarness, "rendering depends on the input order");
  }
  return 0;
}
