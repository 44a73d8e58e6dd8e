// libFuzzer harness for what Preview and Drift read from the Asterisk host:
// ParseConfigFiles and DiffConfigs (server/core/config_diff) and FindDrift
// (server/core/drift). The files on a host may have been edited by anybody,
// so their parser must take any bytes.
//
// Input (see fuzz_input.h): a pjsip file, "\|", a dialplan file, "\|", the
// bytes that pick extensions to render (two bytes each: a number offset and
// a secret letter).
//
// Properties:
//   - parsing never fails and is deterministic; every object id it reports is
//     a portal id (1000-1999, "-auth" for auths), sorted and unique, and every
//     extension it keeps is in 1000-1999;
//   - DiffConfigTexts (the cut-and-compare diff Preview uses) says exactly
//     what DiffConfigs of the two parsed configurations says;
//   - a configuration compared with itself has no difference; a difference's
//     added and removed extensions are exactly the keys one side lacks; every
//     changed extension has aspects, all from the documented set;
//   - a PBX that runs exactly its files, which are what the last successful
//     Apply wrote and what the database renders to, is in sync, whatever the
//     files hold; with nothing loaded, each object of the files is missing
//     once (by kind) and nothing else is found;
//   - what RenderAsteriskConfig writes parses back to the objects Apply
//     expects (ExpectedObjectsFor), and to no difference against itself.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/core/asterisk_config.h"
#include "server/core/config_diff.h"
#include "server/core/drift.h"
#include "server/core/sha256.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using pbx::fuzz::Fail;

constexpr char kHarness[] = "fuzz_config_diff";

bool IsPortalId(std::string id, bool auth) {
  absl::string_view view = id;
  if (auth && !absl::ConsumeSuffix(&view, "-auth")) return false;
  int number = 0;
  return view.size() == 4 && absl::SimpleAtoi(view, &number) && number >= 1000 &&
         number <= 1999;
}

void CheckIds(const std::vector<std::string>& ids, bool auth, const char* what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!IsPortalId(ids[i], auth)) Fail(kHarness, absl::StrCat(what, " id ", ids[i]));
    if (i > 0 && !(ids[i - 1] < ids[i])) Fail(kHarness, absl::StrCat(what, " not sorted/unique"));
  }
}

void CheckParsed(const pbx::ConfigContents& c) {
  CheckIds(c.objects.endpoints, false, "endpoint");
  CheckIds(c.objects.aors, false, "aor");
  CheckIds(c.objects.auths, true, "auth");
  CheckIds(c.objects.dialplan_extensions, false, "dialplan");
  for (const auto& [number, config] : c.extensions) {
    if (number < 1000 || number > 1999) Fail(kHarness, absl::StrCat("extension ", number));
  }
}

bool SameContents(const pbx::ConfigContents& a, const pbx::ConfigContents& b) {
  if (a.extensions.size() != b.extensions.size()) return false;
  for (const auto& [number, config] : a.extensions) {
    auto it = b.extensions.find(number);
    if (it == b.extensions.end() || it->second.endpoint != config.endpoint ||
        it->second.auth != config.auth || it->second.aor != config.aor ||
        it->second.dialplan != config.dialplan) {
      return false;
    }
  }
  return a.objects.endpoints == b.objects.endpoints && a.objects.aors == b.objects.aors &&
         a.objects.auths == b.objects.auths &&
         a.objects.dialplan_extensions == b.objects.dialplan_extensions;
}

void CheckDiff(const pbx::ConfigContents& want, const pbx::ConfigContents& have,
               const pbx::ConfigDiff& cut) {
  const pbx::ConfigDiff diff = pbx::DiffConfigs(want, have);
  bool same = cut.added == diff.added && cut.removed == diff.removed &&
              cut.changed.size() == diff.changed.size();
  for (size_t i = 0; same && i < cut.changed.size(); ++i) {
    same = cut.changed[i].number == diff.changed[i].number &&
           cut.changed[i].aspects == diff.changed[i].aspects;
  }
  if (!same) Fail(kHarness, "DiffConfigTexts disagrees with DiffConfigs of the parsed files");
  std::set<int> added, removed;
  for (const auto& [n, c] : want.extensions) {
    if (have.extensions.count(n) == 0) added.insert(n);
  }
  for (const auto& [n, c] : have.extensions) {
    if (want.extensions.count(n) == 0) removed.insert(n);
  }
  if (std::set<int>(diff.added.begin(), diff.added.end()) != added ||
      std::set<int>(diff.removed.begin(), diff.removed.end()) != removed) {
    Fail(kHarness, "added/removed are not the keys one side lacks");
  }
  static const std::set<std::string> kAspects = {"password changed", "auth changed",
                                                 "endpoint options changed",
                                                 "aor options changed", "dialplan changed"};
  for (const pbx::ExtensionChange& change : diff.changed) {
    if (change.aspects.empty()) Fail(kHarness, "a change without aspects");
    if (want.extensions.count(change.number) == 0 || have.extensions.count(change.number) == 0) {
      Fail(kHarness, "a changed extension one side lacks");
    }
    for (const std::string& aspect : change.aspects) {
      if (kAspects.count(aspect) == 0) Fail(kHarness, "unknown aspect " + aspect);
    }
  }
}

pbx::LiveState Running(const pbx::ConfigContents& c) {
  pbx::LiveState live;
  live.endpoints = c.objects.endpoints;
  live.aors = c.objects.aors;
  live.auths = c.objects.auths;
  for (const std::string& n : c.objects.dialplan_extensions) {
    live.dialplan[n] = absl::StrCat("Dial(PJSIP/", n, ",25)");
  }
  return live;
}

void CheckDrift(const std::string& pjsip, const std::string& dialplan,
                const pbx::ConfigContents& parsed) {
  pbx::DriftInputs inputs;
  pbx::ApplyAuditEntry applied;
  applied.content_hash = "h";
  applied.files = {{"/p", pbx::Sha256Hex(pjsip), 0}, {"/d", pbx::Sha256Hex(dialplan), 0}};
  inputs.last_successful_apply = applied;
  inputs.host_files = {{"/p", pjsip}, {"/d", dialplan}};
  inputs.live = Running(parsed);
  inputs.rendered_pjsip = pjsip;
  inputs.rendered_dialplan = dialplan;
  inputs.rendered_content_hash = "h";
  const pbx::DriftReport in_step = pbx::FindDrift(inputs);
  if (!in_step.in_sync()) {
    Fail(kHarness, absl::StrCat("a PBX running its files is not in sync: ",
                                pbx::DriftKindName(in_step.findings[0].kind), " ",
                                in_step.findings[0].subject));
  }
  inputs.live = {};
  const pbx::DriftReport nothing_loaded = pbx::FindDrift(inputs);
  const size_t objects = parsed.objects.endpoints.size() + parsed.objects.aors.size() +
                         parsed.objects.auths.size() +
                         parsed.objects.dialplan_extensions.size();
  if (nothing_loaded.findings.size() != objects) {
    Fail(kHarness, absl::StrCat(nothing_loaded.findings.size(), " findings for ", objects,
                                " objects not loaded"));
  }
  for (const pbx::DriftFinding& f : nothing_loaded.findings) {
    if (f.kind == pbx::DriftKind::kUnexpectedObject || f.kind == pbx::DriftKind::kFileChanged ||
        f.kind == pbx::DriftKind::kFileMissing || f.kind == pbx::DriftKind::kPendingChanges) {
      Fail(kHarness, "nothing loaded yields " + std::string(pbx::DriftKindName(f.kind)));
    }
  }
}

void CheckRenderedRoundTrip(const std::string& picks) {
  std::vector<pbx::ProvisionedExtension> extensions;
  std::set<int> taken;
  for (size_t i = 0; i + 1 < picks.size() && extensions.size() < 64; i += 2) {
    const int number = 1000 + static_cast<unsigned char>(picks[i]) * 4 % 1000;
    if (!taken.insert(number).second) continue;
    const char letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        [static_cast<unsigned char>(picks[i + 1]) % 62];
    extensions.push_back({number, std::string(24, letter)});
  }
  absl::StatusOr<pbx::RenderedConfig> config =
      pbx::RenderAsteriskConfig(extensions, pbx::DefaultEndpointProfile());
  if (!config.ok()) Fail(kHarness, "render refused valid extensions");
  const pbx::ConfigContents parsed = pbx::ParseConfigFiles(config->pjsip, config->dialplan);
  const pbx::ExpectedObjects expected = pbx::ExpectedObjectsFor(extensions);
  if (parsed.objects.endpoints != expected.endpoints || parsed.objects.aors != expected.aors ||
      parsed.objects.auths != expected.auths ||
      parsed.objects.dialplan_extensions != expected.dialplan_extensions) {
    Fail(kHarness, "the rendered files do not parse back to the expected objects");
  }
  if (!pbx::DiffConfigs(parsed, parsed).empty()) Fail(kHarness, "rendered differs from itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pbx::fuzz::FieldReader reader(data, size);
  const std::string pjsip = reader.Next();
  const std::string dialplan = reader.Next();
  const std::string picks = reader.Next();

  const pbx::ConfigContents parsed = pbx::ParseConfigFiles(pjsip, dialplan);
  CheckParsed(parsed);
  if (!SameContents(parsed, pbx::ParseConfigFiles(pjsip, dialplan))) {
    Fail(kHarness, "parsing is not deterministic");
  }
  if (!pbx::DiffConfigs(parsed, parsed).empty()) Fail(kHarness, "a config differs from itself");
  const pbx::ConfigContents other = pbx::ParseConfigFiles(dialplan, pjsip);
  CheckParsed(other);
  CheckDiff(parsed, other, pbx::DiffConfigTexts(pjsip, dialplan, dialplan, pjsip));
  CheckDiff(other, parsed, pbx::DiffConfigTexts(dialplan, pjsip, pjsip, dialplan));
  {
    // A kept cut is used with copies of the texts it was cut from (a plan's
    // files move with it): positions, not pointers.
    const pbx::ExtensionLines lines(pjsip, dialplan);
    const std::string pjsip_copy = pjsip, dialplan_copy = dialplan;
    CheckDiff(parsed, other, pbx::DiffConfigTexts(lines, pjsip_copy, dialplan_copy, dialplan, pjsip));
  }
  if (!pbx::DiffConfigTexts(pjsip, dialplan, pjsip, dialplan).empty()) {
    Fail(kHarness, "DiffConfigTexts: a config differs from itself");
  }
  CheckDrift(pjsip, dialplan, parsed);
  CheckRenderedRoundTrip(picks);
  return 0;
}
