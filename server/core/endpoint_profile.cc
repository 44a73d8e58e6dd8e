#include "server/core/endpoint_profile.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace pbx {
namespace {

// A grammar: the canonical spelling of a value, or why it is not one. Every
// canonical value is made only of [A-Za-z0-9_.,-], so no value can end a
// line, start a comment (;), open a section ([) or add a directive (#) in
// the config file; render_property (tests/fuzz) checks that independently.
using Grammar = absl::StatusOr<std::string> (*)(absl::string_view value);

// Echoes a value in an error message: quoted, escaped, cut short, so a log
// line stays one line whatever the file held.
std::string Quote(absl::string_view value) {
  constexpr size_t kMax = 40;
  std::string shown = absl::CEscape(value.substr(0, kMax));
  if (value.size() > kMax) absl::StrAppend(&shown, "...");
  return absl::StrCat("\"", shown, "\"");
}

absl::Status Bad(absl::string_view value, absl::string_view want) {
  return absl::InvalidArgumentError(absl::StrCat(Quote(value), " is not ", want));
}

// Asterisk reads many spellings of a boolean; the file may use yes/no or
// true/false (any case), the config file always gets yes/no.
absl::StatusOr<std::string> YesNo(absl::string_view value) {
  const std::string lower = absl::AsciiStrToLower(value);
  if (lower == "yes" || lower == "true") return std::string("yes");
  if (lower == "no" || lower == "false") return std::string("no");
  return Bad(value, "yes or no");
}

absl::StatusOr<std::string> OneOf(absl::string_view value,
                                  std::initializer_list<const char*> words,
                                  absl::string_view want) {
  const std::string lower = absl::AsciiStrToLower(value);
  for (const char* word : words) {
    if (lower == word) return lower;
  }
  return Bad(value, want);
}

absl::StatusOr<std::string> DtmfMode(absl::string_view value) {
  return OneOf(value, {"rfc4733", "inband", "info", "auto", "auto_info"},
               "rfc4733, inband, info, auto or auto_info");
}

absl::StatusOr<std::string> Timers(absl::string_view value) {
  // Asterisk reads "forced" as an alias of "always"; one spelling is written.
  if (absl::AsciiStrToLower(value) == "forced") return std::string("always");
  return OneOf(value, {"no", "yes", "required", "always"}, "no, yes, required, always or forced");
}

absl::StatusOr<std::string> Rel100(absl::string_view value) {
  return OneOf(value, {"no", "yes", "required", "peer_supported"},
               "no, yes, required or peer_supported");
}

// Digits only (no sign, no spaces), within [min, max]; rendered without
// leading zeros.
std::optional<int> Integer(absl::string_view value, int min, int max) {
  if (value.empty() || value.size() > 9) return std::nullopt;
  for (char c : value) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  int parsed;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < min || parsed > max) return std::nullopt;
  return parsed;
}

absl::StatusOr<std::string> QualifyFrequency(absl::string_view value) {
  std::optional<int> seconds = Integer(value, 0, 86400);
  if (!seconds) return Bad(value, "an integer number of seconds in 0-86400");
  return absl::StrCat(*seconds);
}

absl::StatusOr<std::string> MaxContacts(absl::string_view value) {
  std::optional<int> contacts = Integer(value, 1, 10);
  if (!contacts) return Bad(value, "an integer in 1-10");
  return absl::StrCat(*contacts);
}

// Seconds with at most three decimals, 0.1-60: a qualify that never times
// out (Asterisk's 0) would never mark a phone unreachable. Rendered without
// trailing zeros ("2.50" -> "2.5", "3.0" -> "3").
absl::StatusOr<std::string> QualifyTimeout(absl::string_view value) {
  constexpr absl::string_view kWant = "a number of seconds in 0.1-60 (at most 3 decimals)";
  const size_t dot = value.find('.');
  const absl::string_view whole = value.substr(0, dot);
  const absl::string_view fraction =
      dot == absl::string_view::npos ? absl::string_view() : value.substr(dot + 1);
  std::optional<int> seconds = Integer(whole, 0, 60);
  if (!seconds || (dot != absl::string_view::npos && fraction.empty()) || fraction.size() > 3) {
    return Bad(value, kWant);
  }
  int millis = 0;
  if (!fraction.empty()) {
    std::optional<int> digits = Integer(fraction, 0, 999);
    if (!digits) return Bad(value, kWant);
    millis = *digits;
    for (size_t i = fraction.size(); i < 3; ++i) millis *= 10;
  }
  const int total = *seconds * 1000 + millis;
  if (total < 100 || total > 60000) return Bad(value, kWant);
  std::string out = absl::StrCat(total / 1000);
  if (total % 1000 != 0) {
    std::string decimals = absl::StrCat(1000 + total % 1000).substr(1);  // zero-padded
    while (decimals.back() == '0') decimals.pop_back();
    absl::StrAppend(&out, ".", decimals);
  }
  return out;
}

// Format names Asterisk 22 knows (its format cache; `core show codecs`), the
// audio ones a phone offers plus common video. allow=all is left out on
// purpose: the profile names codecs, in the order of preference.
constexpr std::array<const char*, 30> kCodecs = {
    "ulaw",   "alaw",    "g722",    "g729",  "gsm",   "opus",   "ilbc",  "g726",
    "g726aal2", "adpcm", "g723",    "g719",  "lpc10", "speex",  "speex16", "speex32",
    "siren7", "siren14", "slin",    "slin16", "slin24", "slin32", "slin48", "codec2",
    "h261",   "h263",    "h263p",   "h264",  "vp8",   "vp9"};

absl::StatusOr<std::string> CodecList(absl::string_view value) {
  constexpr absl::string_view kWant = "a comma-separated list of distinct codecs";
  std::vector<std::string> codecs;
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    const std::string codec = absl::AsciiStrToLower(absl::StripAsciiWhitespace(item));
    if (codec.empty()) return Bad(value, kWant);
    if (std::find(kCodecs.begin(), kCodecs.end(), codec) == kCodecs.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quote(item), " is not a known codec (known: ",
                       absl::StrJoin(kCodecs, ","), ")"));
    }
    if (std::find(codecs.begin(), codecs.end(), codec) != codecs.end()) {
      return absl::InvalidArgumentError(absl::StrCat("codec ", codec, " is listed twice"));
    }
    codecs.push_back(codec);
  }
  return absl::StrJoin(codecs, ",");
}

// A PJSIP section name (the transport must be defined in pjsip.conf).
absl::StatusOr<std::string> SectionName(absl::string_view value) {
  const bool ok = !value.empty() && value.size() <= 64 &&
                  std::all_of(value.begin(), value.end(), [](char c) {
                    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                           c == '.' || c == '-';
                  });
  if (!ok) return Bad(value, "a PJSIP section name ([A-Za-z0-9_.-]{1,64})");
  return std::string(value);
}

absl::StatusOr<std::string> All(absl::string_view value) {
  if (value != "all") return Bad(value, "all");
  return std::string(value);
}

struct OptionRule {
  ProfileOptionSpec spec;
  Grammar grammar;
  // False for disallow: the renderer owns it.
  bool settable;
};

constexpr ProfileObject kEndpoint = ProfileObject::kEndpoint;
constexpr ProfileObject kAor = ProfileObject::kAor;

// The allow-list, in rendering order.
const std::vector<OptionRule>& Rules() {
  static const std::vector<OptionRule>* const rules = new std::vector<OptionRule>{
      {{"disallow", kEndpoint, "all (always; not settable)", "all"}, &All, false},
      {{"allow", kEndpoint, "comma list of distinct codecs, in order of preference", "ulaw,alaw"},
       &CodecList, true},
      {{"direct_media", kEndpoint, "yes|no", "no"}, &YesNo, true},
      {{"dtmf_mode", kEndpoint, "rfc4733|inband|info|auto|auto_info", nullptr}, &DtmfMode, true},
      {{"rtp_symmetric", kEndpoint, "yes|no", nullptr}, &YesNo, true},
      {{"force_rport", kEndpoint, "yes|no", nullptr}, &YesNo, true},
      {{"rewrite_contact", kEndpoint, "yes|no", nullptr}, &YesNo, true},
      {{"ice_support", kEndpoint, "yes|no", nullptr}, &YesNo, true},
      {{"transport", kEndpoint, "PJSIP section name [A-Za-z0-9_.-]{1,64}", nullptr},
       &SectionName, true},
      {{"timers", kEndpoint, "no|yes|required|always (forced: always)", nullptr}, &Timers, true},
      {{"100rel", kEndpoint, "no|yes|required|peer_supported", nullptr}, &Rel100, true},
      {{"max_contacts", kAor, "integer 1-10", "1"}, &MaxContacts, true},
      {{"remove_existing", kAor, "yes|no", "yes"}, &YesNo, true},
      {{"qualify_frequency", kAor, "integer seconds 0-86400 (0: no qualify)", "60"},
       &QualifyFrequency, true},
      {{"qualify_timeout", kAor, "seconds 0.1-60, at most 3 decimals", nullptr},
       &QualifyTimeout, true},
  };
  return *rules;
}

const OptionRule* FindRule(absl::string_view name) {
  for (const OptionRule& rule : Rules()) {
    if (name == rule.spec.name) return &rule;
  }
  return nullptr;
}

std::string SettableNames() {
  std::vector<std::string> names;
  for (const OptionRule& rule : Rules()) {
    if (rule.settable) names.push_back(rule.spec.name);
  }
  return absl::StrJoin(names, ", ");
}

// Builds the profile from one value per rule (empty: not rendered).
EndpointProfile FromValues(const std::vector<std::optional<std::string>>& values) {
  EndpointProfile profile;
  const std::vector<OptionRule>& rules = Rules();
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!values[i]) continue;
    auto& options = rules[i].spec.object == kEndpoint ? profile.endpoint : profile.aor;
    options.push_back({rules[i].spec.name, *values[i]});
  }
  return profile;
}

std::vector<std::optional<std::string>> DefaultValues() {
  std::vector<std::optional<std::string>> values;
  for (const OptionRule& rule : Rules()) {
    values.push_back(rule.spec.default_value == nullptr
                         ? std::nullopt
                         : std::optional<std::string>(rule.spec.default_value));
  }
  return values;
}

absl::Status CheckOptions(const std::vector<ProfileOption>& options, ProfileObject object) {
  const std::vector<OptionRule>& rules = Rules();
  const char* kind = object == kEndpoint ? "endpoint" : "aor";
  size_t next_rule = 0;
  bool has_allow = false;
  for (size_t i = 0; i < options.size(); ++i) {
    const ProfileOption& option = options[i];
    size_t index = next_rule;
    while (index < rules.size() && option.name != rules[index].spec.name) ++index;
    if (index == rules.size() || rules[index].spec.object != object) {
      return absl::InternalError(absl::StrCat(kind, " profile option ", Quote(option.name),
                                              " is not on the allow-list, or out of order"));
    }
    next_rule = index + 1;
    absl::StatusOr<std::string> canonical = rules[index].grammar(option.value);
    if (!canonical.ok() || *canonical != option.value) {
      return absl::InternalError(absl::StrCat(kind, " profile option ", option.name, "=",
                                              Quote(option.value), " is not a checked value"));
    }
    const bool is_disallow = option.name == "disallow";
    const bool next_is_allow = i + 1 < options.size() && options[i + 1].name == "allow";
    if (is_disallow && !next_is_allow) {
      return absl::InternalError("profile option disallow must come directly before allow");
    }
    if (option.name == "allow") {
      if (i == 0 || options[i - 1].name != "disallow") {
        return absl::InternalError("profile option allow must follow disallow=all");
      }
      has_allow = true;
    }
  }
  if (object == kEndpoint && !has_allow) {
    return absl::InternalError("the endpoint profile has no allow (codecs)");
  }
  return absl::OkStatus();
}

}  // namespace

EndpointProfile DefaultEndpointProfile() { return FromValues(DefaultValues()); }

const std::vector<ProfileOptionSpec>& EndpointProfileAllowList() {
  static const std::vector<ProfileOptionSpec>* const specs = [] {
    auto* out = new std::vector<ProfileOptionSpec>();
    for (const OptionRule& rule : Rules()) out->push_back(rule.spec);
    return out;
  }();
  return *specs;
}

absl::StatusOr<EndpointProfile> ParseEndpointProfile(absl::string_view text) {
  // A profile is a dozen lines; anything this big is the wrong file.
  constexpr size_t kMaxBytes = 64 * 1024;
  if (text.size() > kMaxBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the endpoint profile is over ", kMaxBytes, " bytes"));
  }
  const std::vector<OptionRule>& rules = Rules();
  std::vector<std::optional<std::string>> values = DefaultValues();
  std::vector<int> set_on_line(rules.size(), 0);
  std::vector<std::string> problems;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);  // also a CRLF file's '\r'
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    const std::string where = absl::StrCat("line ", line_number, ": ");
    const size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      problems.push_back(
          absl::StrCat(where, Quote(line), " is not `name = value` (nor a # or ; comment)"));
      continue;
    }
    const absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, equals));
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(equals + 1));
    const OptionRule* rule = FindRule(name);
    if (rule == nullptr) {
      problems.push_back(absl::StrCat(where, "unknown option ", Quote(name),
                                      " (allowed: ", SettableNames(), ")"));
      continue;
    }
    if (!rule->settable) {
      problems.push_back(absl::StrCat(where, name,
                                      ": cannot be set (always all; allow lists the codecs)"));
      continue;
    }
    const size_t index = static_cast<size_t>(rule - rules.data());
    if (set_on_line[index] != 0) {
      problems.push_back(absl::StrCat(where, name, ": set again (first on line ",
                                      set_on_line[index], ")"));
      continue;
    }
    set_on_line[index] = line_number;
    absl::StatusOr<std::string> canonical = rule->grammar(value);
    if (!canonical.ok()) {
      problems.push_back(absl::StrCat(where, name, ": ", canonical.status().message()));
      continue;
    }
    values[index] = *std::move(canonical);
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  }
  return FromValues(values);
}

absl::Status ValidateEndpointProfile(const EndpointProfile& profile) {
  if (absl::Status status = CheckOptions(profile.endpoint, kEndpoint); !status.ok()) {
    return status;
  }
  return CheckOptions(profile.aor, kAor);
}

}  // namespace pbx
