#include "tests/fuzz/render_property.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "server/core/live_state.h"
#include "tests/fuzz/asterisk_conf_grammar.h"

namespace pbx::render_property {
namespace {

using conf_grammar::Entry;
using conf_grammar::Operator;
using conf_grammar::ParsedConf;
using conf_grammar::Section;

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct ExpectedSection {
  std::string name;
  KeyValues entries;
  Operator op;
};

std::string Show(const ExpectedSection& s) {
  std::string out = "[" + s.name + "]";
  for (const auto& [key, value] : s.entries) {
    out += " " + key + conf_grammar::OperatorText(s.op) + value;
  }
  return out;
}

std::string Show(const Section& s) {
  std::string out = "[" + s.name + "]";
  if (s.options) out += "(" + *s.options + ")";
  for (const Entry& e : s.entries) {
    out += " " + e.key + conf_grammar::OperatorText(e.op) + e.value;
  }
  return out;
}

std::string CheckFile(const char* file, const std::string& text,
                      const std::vector<ExpectedSection>& expected,
                      const std::string& content_hash, size_t count) {
  const ParsedConf parsed = conf_grammar::ParseAsteriskConf(text);
  const std::string where = std::string(file) + ": ";
  if (!parsed.IsPlain()) {
    return where + "not plain key/value sections:\n" + conf_grammar::Describe(parsed);
  }
  if (parsed.sections.size() != expected.size()) {
    return where + std::to_string(parsed.sections.size()) + " sections instead of " +
           std::to_string(expected.size()) + ":\n" + conf_grammar::Describe(parsed);
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    const Section& got = parsed.sections[i];
    const ExpectedSection& want = expected[i];
    bool same = got.name == want.name && got.entries.size() == want.entries.size();
    for (size_t k = 0; same && k < got.entries.size(); ++k) {
      same = got.entries[k].key == want.entries[k].first &&
             got.entries[k].value == want.entries[k].second && got.entries[k].op == want.op;
    }
    if (!same) {
      return where + "section " + std::to_string(i) + " is " + Show(got) + "\n  instead of " +
             Show(want);
    }
  }
  // Header comments (invisible to the grammar) name the hash and the count.
  if (text.find("\n; content-sha256: " + content_hash + "\n") == std::string::npos) {
    return where + "header does not name content hash " + content_hash;
  }
  if (text.find("\n; extensions: " + std::to_string(count) + "\n") == std::string::npos) {
    return where + "header does not name " + std::to_string(count) + " extensions";
  }
  return "";
}

bool IsLowerHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

bool SatisfiesInvariants(const std::vector<ProvisionedExtension>& extensions) {
  std::set<int> seen;
  for (const ProvisionedExtension& e : extensions) {
    if (e.number < 1000 || e.number > 1999) return false;
    if (!seen.insert(e.number).second) return false;
    if (e.sip_secret.size() < 22 || e.sip_secret.size() > 64) return false;
    for (char c : e.sip_secret) {
      const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      if (!alnum) return false;
    }
  }
  return true;
}

std::string CheckProfileIsSafe(const EndpointProfile& profile) {
  const std::set<std::string> endpoint_names = {
      "disallow",        "allow",       "direct_media", "dtmf_mode", "rtp_symmetric", "force_rport",
      "rewrite_contact", "ice_support", "transport",    "timers",    "100rel"};
  const std::set<std::string> aor_names = {"max_contacts", "remove_existing", "qualify_frequency",
                                           "qualify_timeout"};
  auto check = [](const std::vector<ProfileOption>& options, const std::set<std::string>& names,
                  const char* kind) -> std::string {
    std::set<std::string> seen;
    for (size_t i = 0; i < options.size(); ++i) {
      const ProfileOption& o = options[i];
      if (names.count(o.name) == 0) return std::string(kind) + " option not allowed: " + o.name;
      if (!seen.insert(o.name).second) return std::string(kind) + " option twice: " + o.name;
      if (o.value.empty() || o.value.size() > 200) return "bad value length for " + o.name;
      for (char c : o.value) {
        const bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ',' || c == '-';
        if (!safe) return "unsafe character " + std::to_string(static_cast<int>(c)) + " in " + o.name;
      }
      if (o.name == "disallow" &&
          (o.value != "all" || i + 1 >= options.size() || options[i + 1].name != "allow")) {
        return "disallow is not all directly before allow";
      }
      if (o.name == "allow" && (i == 0 || options[i - 1].name != "disallow")) {
        return "allow without disallow=all before it";
      }
    }
    return "";
  };
  std::string problem = check(profile.endpoint, endpoint_names, "endpoint");
  if (problem.empty()) problem = check(profile.aor, aor_names, "aor");
  return problem;
}

std::string CheckRendered(const RenderedConfig& config,
                          const std::vector<ProvisionedExtension>& extensions,
                          const EndpointProfile& profile) {
  if (!IsLowerHex64(config.content_hash)) {
    return "content_hash is not 64 lower-case hex digits: " + config.content_hash;
  }
  std::vector<ProvisionedExtension> sorted = extensions;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });

  std::vector<ExpectedSection> pjsip;
  KeyValues dialplan_entries;
  for (const ProvisionedExtension& e : sorted) {
    const std::string n = std::to_string(e.number);
    KeyValues endpoint = {{"type", "endpoint"}, {"context", "synergy-internal"}};
    for (const ProfileOption& o : profile.endpoint) endpoint.push_back({o.name, o.value});
    endpoint.push_back({"auth", n + "-auth"});
    endpoint.push_back({"aors", n});
    pjsip.push_back({n, endpoint, Operator::kAssign});
    pjsip.push_back({n + "-auth",
                     {{"type", "auth"},
                      {"auth_type", "userpass"},
                      {"username", n},
                      {"password", e.sip_secret}},
                     Operator::kAssign});
    KeyValues aor = {{"type", "aor"}};
    for (const ProfileOption& o : profile.aor) aor.push_back({o.name, o.value});
    pjsip.push_back({n, aor, Operator::kAssign});
    dialplan_entries.push_back({"exten", n + ",1,Dial(PJSIP/" + n + ",25)"});
    dialplan_entries.push_back({"same", "n,Hangup()"});
  }
  const std::vector<ExpectedSection> dialplan = {
      {"synergy-internal", dialplan_entries, Operator::kObject}};

  std::string problem = CheckFile("generated_endpoints.conf", config.pjsip, pjsip,
                                  config.content_hash, sorted.size());
  if (problem.empty()) {
    problem = CheckFile("generated_routing.conf", config.dialplan, dialplan,
                        config.content_hash, sorted.size());
  }
  return problem;
}

std::string CheckLiveStateRoundTrip(const RenderedConfig& config,
                                    const std::vector<ProvisionedExtension>& extensions) {
  // What Asterisk would list after loading the files.
  std::string endpoints = " Endpoint:  <Endpoint/CID.....>  <State.....>  <Channels.>\n";
  std::string aors = " Aor:  <Aor..............>  <MaxContact>\n";
  std::string auths = " I/OAuth:  <AuthId/UserName...>\n";
  for (const Section& s : conf_grammar::ParseAsteriskConf(config.pjsip).sections) {
    std::string type, username;
    for (const Entry& e : s.entries) {
      if (e.key == "type") type = e.value;
      if (e.key == "username") username = e.value;
    }
    if (type == "endpoint") endpoints += " Endpoint:  " + s.name + "   Unavailable   0 of inf\n";
    if (type == "aor") aors += " Aor:  " + s.name + "   1\n";
    if (type == "auth") auths += " Auth:  " + s.name + "/" + username + "\n";
  }
  std::string show;
  for (const Section& s : conf_grammar::ParseAsteriskConf(config.dialplan).sections) {
    show += "[ Context '" + s.name + "' created by 'pbx_config' ]\n";
    int priority = 0;
    for (const Entry& e : s.entries) {
      // "N,1,Dial(...)" or "n,Hangup()"
      const size_t comma = e.value.find(',');
      if (comma == std::string::npos) continue;
      std::string application = e.value.substr(comma + 1);
      if (e.key == "exten") {
        const size_t second = application.find(',');
        if (second == std::string::npos) continue;
        application = application.substr(second + 1);
        priority = 1;
        show += "  '" + e.value.substr(0, comma) + "' =>  1. " + application + "  [x.conf:1]\n";
      } else if (e.key == "same") {
        ++priority;
        show += "                    " + std::to_string(priority) + ". " + application +
                "  [x.conf:2]\n";
      }
    }
  }
  LiveState live;
  live.endpoints = ParsePjsipList(endpoints, "Endpoint");
  live.aors = ParsePjsipList(aors, "Aor");
  live.auths = ParsePjsipList(auths, "Auth");
  live.dialplan = ParseDialplanShow(show);
  std::string out;
  for (const std::string& difference :
       CompareLiveState(ExpectedObjectsFor(extensions), live)) {
    out += difference + "\n";
  }
  return out;
}

}  // namespace pbx::render_property
