// libFuzzer harness for RenderAsteriskConfig (server/core/asterisk_config).
//
// Input (see fuzz_input.h): number, secret, number, secret, ... separated by
// "\|". A number field is read with absl::SimpleAtoi (surrounding whitespace
// and a sign allowed); one that does not parse as an int becomes 0. A
// trailing number without a secret gets an empty secret. A first field that
// starts with "profile:" is an endpoint profile file's text instead (the
// rest of the field); without one the default profile is used.
//
// Properties: a profile text either parses into a profile that passes
// ValidateEndpointProfile and the independent render_property::
// CheckProfileIsSafe, and parses again to itself from its own rendering, or
// is refused with INVALID_ARGUMENT naming a line. Rendering succeeds exactly
// when the input satisfies the renderer's invariants
// (render_property::SatisfiesInvariants), and fails with INTERNAL otherwise.
// A successful render parses with the Asterisk grammar checker into exactly
// the expected sections and keys (render_property::CheckRendered), defines
// the objects Apply expects (CheckLiveStateRoundTrip) and does not depend on
// the input order.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "server/core/asterisk_config.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/render_property.h"

namespace {

using pbx::fuzz::Fail;

constexpr char kHarness[] = "fuzz_render";
constexpr char kProfilePrefix[] = "profile:";

// The profile as a file would set it: one `name = value` line per option.
std::string AsFile(const pbx::EndpointProfile& profile) {
  std::string text;
  for (const auto* options : {&profile.endpoint, &profile.aor}) {
    for (const pbx::ProfileOption& o : *options) {
      if (o.name != "disallow") text += o.name + " = " + o.value + "\n";
    }
  }
  return text;
}

// The profile `text` sets, checked; nullopt when the text is (rightly) refused.
std::optional<pbx::EndpointProfile> ParseProfile(const std::string& text) {
  absl::StatusOr<pbx::EndpointProfile> profile = pbx::ParseEndpointProfile(text);
  if (!profile.ok()) {
    if (profile.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail(kHarness, "profile refused with " + profile.status().ToString());
    }
    const std::string message(profile.status().message());
    if (!absl::StartsWith(message, "line ") && !absl::StartsWith(message, "the endpoint profile")) {
      Fail(kHarness, "profile refusal names no line: " + message);
    }
    if (message.find('\n') != std::string::npos) {
      Fail(kHarness, "profile refusal spans lines: " + message);
    }
    return std::nullopt;
  }
  if (absl::Status valid = pbx::ValidateEndpointProfile(*profile); !valid.ok()) {
    Fail(kHarness, "parsed profile fails validation: " + valid.ToString());
  }
  if (std::string problem = pbx::render_property::CheckProfileIsSafe(*profile); !problem.empty()) {
    Fail(kHarness, "parsed profile is unsafe: " + problem);
  }
  absl::StatusOr<pbx::EndpointProfile> again = pbx::ParseEndpointProfile(AsFile(*profile));
  if (!again.ok() || !(*again == *profile)) {
    Fail(kHarness, "a parsed profile does not parse back to itself");
  }
  return *profile;
}

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
  pbx::EndpointProfile profile = pbx::DefaultEndpointProfile();
  std::optional<std::string> first;
  if (!in.done()) {
    first = in.Next();
    if (absl::StartsWith(*first, kProfilePrefix)) {
      std::optional<pbx::EndpointProfile> parsed =
          ParseProfile(first->substr(sizeof(kProfilePrefix) - 1));
      if (!parsed) return 0;
      profile = *std::move(parsed);
      first.reset();
    }
  }
  while (first || !in.done()) {
    pbx::ProvisionedExtension e;
    const std::string number = first ? *first : in.Next();
    first.reset();
    if (!absl::SimpleAtoi(number, &e.number)) e.number = 0;
    e.sip_secret = in.Next();
    extensions.push_back(std::move(e));
  }
  const bool valid = pbx::render_property::SatisfiesInvariants(extensions);
  auto config = pbx::RenderAsteriskConfig(extensions, profile);
  if (!config.ok()) {
    if (valid) Fail(kHarness, "valid input refused: " + config.status().ToString());
    if (config.status().code() != absl::StatusCode::kInternal) {
      Fail(kHarness, "invalid input refused with " + config.status().ToString());
    }
    return 0;
  }
  if (!valid) Fail(kHarness, "input breaking an invariant was rendered: " + Describe(extensions));
  if (std::string problem = pbx::render_property::CheckRendered(*config, extensions, profile);
      !problem.empty()) {
    Fail(kHarness, problem);
  }
  if (std::string problem = pbx::render_property::CheckLiveStateRoundTrip(*config, extensions);
      !problem.empty()) {
    Fail(kHarness, "live state after loading the files differs from Apply's expectation:\n" +
                       problem);
  }
  std::reverse(extensions.begin(), extensions.end());
  auto reversed = pbx::RenderAsteriskConfig(extensions, profile);
  if (!reversed.ok() || reversed->pjsip != config->pjsip ||
      reversed->dialplan != config->dialplan || reversed->content_hash != config->content_hash) {
    Fail(kHarness, "rendering depends on the input order");
  }
  return 0;
}
