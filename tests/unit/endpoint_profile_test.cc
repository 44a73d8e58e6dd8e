#include "server/core/endpoint_profile.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

MATCHER_P2(Option, name, value, "") { return arg.name == name && arg.value == value; }

// The value `text` gives option `name`, or the error message.
std::string ValueOf(const std::string& name, const std::string& value) {
  auto profile = ParseEndpointProfile(name + " = " + value + "\n");
  if (!profile.ok()) return "ERROR " + std::string(profile.status().message());
  for (const auto* options : {&profile->endpoint, &profile->aor}) {
    for (const ProfileOption& option : *options) {
      if (option.name == name) return option.value;
    }
  }
  return "MISSING";
}

void ExpectAccepted(const std::string& name, const std::string& value,
                    const std::string& canonical) {
  EXPECT_EQ(ValueOf(name, value), canonical) << name << " = " << value;
}

void ExpectRefused(const std::string& name, const std::string& value) {
  auto profile = ParseEndpointProfile(name + " = " + value + "\n");
  ASSERT_FALSE(profile.ok()) << name << " = " << value << " accepted";
  EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(profile.status().message()), StartsWith("line 1: " + name + ": "))
      << name << " = " << value;
}

TEST(DefaultEndpointProfile, IsTodaysOptionsPlusQualify) {
  const EndpointProfile profile = DefaultEndpointProfile();
  EXPECT_THAT(profile.endpoint, ElementsAre(Option("disallow", "all"), Option("allow", "ulaw,alaw"),
                                            Option("direct_media", "no")));
  EXPECT_THAT(profile.aor, ElementsAre(Option("max_contacts", "1"), Option("remove_existing", "yes"),
                                       Option("qualify_frequency", "60")));
  EXPECT_TRUE(ValidateEndpointProfile(profile).ok());
}

TEST(ParseEndpointProfile, EmptyOrCommentsOnlyIsTheDefault) {
  for (const char* text : {"", "\n\n", "# nothing\n; nothing either\n   \n", "  # indented\r\n"}) {
    auto profile = ParseEndpointProfile(text);
    ASSERT_TRUE(profile.ok()) << profile.status();
    EXPECT_EQ(*profile, DefaultEndpointProfile()) << text;
  }
}

TEST(ParseEndpointProfile, OverridesDefaultsAndAddsOptionsOnTheRightObject) {
  auto profile = ParseEndpointProfile(
      "# phones behind NAT\n"
      "rtp_symmetric = yes\n"
      "force_rport = yes\n"
      "rewrite_contact = yes\n"
      "qualify_frequency = 30\n"
      "direct_media = yes\n"
      "max_contacts = 2\n");
  ASSERT_TRUE(profile.ok()) << profile.status();
  EXPECT_THAT(profile->endpoint,
              ElementsAre(Option("disallow", "all"), Option("allow", "ulaw,alaw"),
                          Option("direct_media", "yes"), Option("rtp_symmetric", "yes"),
                          Option("force_rport", "yes"), Option("rewrite_contact", "yes")));
  EXPECT_THAT(profile->aor,
              ElementsAre(Option("max_contacts", "2"), Option("remove_existing", "yes"),
                          Option("qualify_frequency", "30")));
}

TEST(ParseEndpointProfile, RendersTheAllowListOrderWhateverTheFileOrder) {
  auto forward = ParseEndpointProfile(
      "allow=g722\ndtmf_mode=info\nrtp_symmetric=no\ntransport=t1\n100rel=no\n"
      "max_contacts=3\nqualify_timeout=5\n");
  auto backward = ParseEndpointProfile(
      "qualify_timeout=5\nmax_contacts=3\n100rel=no\ntransport=t1\nrtp_symmetric=no\n"
      "dtmf_mode=info\nallow=g722\n");
  ASSERT_TRUE(forward.ok() && backward.ok());
  EXPECT_EQ(*forward, *backward);
  std::vector<std::string> names;
  for (const ProfileOption& o : forward->endpoint) names.push_back(o.name);
  EXPECT_THAT(names, ElementsAre("disallow", "allow", "direct_media", "dtmf_mode", "rtp_symmetric",
                                 "transport", "100rel"));
  names.clear();
  for (const ProfileOption& o : forward->aor) names.push_back(o.name);
  EXPECT_THAT(names, ElementsAre("max_contacts", "remove_existing", "qualify_frequency",
                                 "qualify_timeout"));
}

TEST(ParseEndpointProfile, Booleans) {
  for (const char* name :
       {"direct_media", "rtp_symmetric", "force_rport", "rewrite_contact", "ice_support",
        "remove_existing"}) {
    ExpectAccepted(name, "yes", "yes");
    ExpectAccepted(name, "no", "no");
    ExpectAccepted(name, "True", "yes");
    ExpectAccepted(name, "FALSE", "no");
    for (const char* bad : {"", "1", "0", "on", "off", "y", "n", "maybe", "yes;", "yes no"}) {
      ExpectRefused(name, bad);
    }
  }
}

TEST(ParseEndpointProfile, Enumerations) {
  for (const char* mode : {"rfc4733", "inband", "info", "auto", "auto_info"}) {
    ExpectAccepted("dtmf_mode", mode, mode);
  }
  ExpectAccepted("dtmf_mode", "RFC4733", "rfc4733");
  for (const char* bad : {"rfc2833", "auto-info", "", "info,inband"}) ExpectRefused("dtmf_mode", bad);
  for (const char* value : {"no", "yes", "required", "always"}) {
    ExpectAccepted("timers", value, value);
  }
  ExpectAccepted("timers", "forced", "always");  // Asterisk's alias
  ExpectRefused("timers", "forced2");
  for (const char* value : {"no", "yes", "required", "peer_supported"}) {
    ExpectAccepted("100rel", value, value);
  }
  ExpectRefused("100rel", "peer");
}

TEST(ParseEndpointProfile, CodecLists) {
  ExpectAccepted("allow", "ulaw", "ulaw");
  ExpectAccepted("allow", "g722, ULAW ,alaw", "g722,ulaw,alaw");  // order kept: preference
  ExpectAccepted("allow", "opus,g729,gsm,slin,ilbc,h264,vp8", "opus,g729,gsm,slin,ilbc,h264,vp8");
  for (const char* bad :
       {"", "all", "!ulaw", "ulaw,", ",ulaw", "ulaw,,alaw", "ulaw alaw", "ulaw;alaw", "ulaw:20",
        "mp3", "ulaw,alaw,ULAW"}) {
    ExpectRefused("allow", bad);
  }
  EXPECT_THAT(ValueOf("allow", "ulaw,alaw,ulaw"), HasSubstr("ulaw is listed twice"));
  EXPECT_THAT(ValueOf("allow", "ulaw,mp3"), HasSubstr("\"mp3\" is not a known codec"));
}

TEST(ParseEndpointProfile, DisallowIsNotSettable) {
  auto profile = ParseEndpointProfile("disallow = all\n");
  ASSERT_FALSE(profile.ok());
  EXPECT_THAT(std::string(profile.status().message()), StartsWith("line 1: disallow: cannot be set"));
}

TEST(ParseEndpointProfile, TransportIsASectionName) {
  ExpectAccepted("transport", "transport-udp", "transport-udp");
  ExpectAccepted("transport", "Udp_1.x", "Udp_1.x");  // case kept: section names are exact
  ExpectAccepted("transport", std::string(64, 'x'), std::string(64, 'x'));
  for (const std::string& bad :
       {std::string(""), std::string(65, 'x'), std::string("a b"), std::string("udp;x"),
        std::string("[udp]"), std::string("udp(+)"), std::string("t\xc3\xa9")}) {
    ExpectRefused("transport", bad);
  }
}

TEST(ParseEndpointProfile, Numbers) {
  ExpectAccepted("qualify_frequency", "0", "0");
  ExpectAccepted("qualify_frequency", "86400", "86400");
  ExpectAccepted("qualify_frequency", "030", "30");
  for (const char* bad : {"86401", "-1", "+30", "30s", "3.0", "1e3", "", "999999999999"}) {
    ExpectRefused("qualify_frequency", bad);
  }
  ExpectAccepted("max_contacts", "1", "1");
  ExpectAccepted("max_contacts", "10", "10");
  for (const char* bad : {"0", "11", "-1", "two"}) ExpectRefused("max_contacts", bad);
  ExpectAccepted("qualify_timeout", "0.1", "0.1");
  ExpectAccepted("qualify_timeout", "3", "3");
  ExpectAccepted("qualify_timeout", "3.0", "3");
  ExpectAccepted("qualify_timeout", "2.50", "2.5");
  ExpectAccepted("qualify_timeout", "0.125", "0.125");
  ExpectAccepted("qualify_timeout", "60.000", "60");
  for (const char* bad : {"0", "0.0", "0.09", "60.001", "61", "1.2345", ".5", "5.", "1,5", "-1",
                          "1..2", "1.2.3", "nan", "inf", "0x10"}) {
    ExpectRefused("qualify_timeout", bad);
  }
}

TEST(ParseEndpointProfile, NamesTheLineAndOptionOfEveryBadEntry) {
  auto profile = ParseEndpointProfile(
      "# NAT\n"                      // 1
      "rtp_symmetric = yes\n"        // 2
      "\n"                           // 3
      "force_rport = perhaps\n"      // 4
      "colour = blue\n"              // 5
      "rtp_symmetric = no\n"         // 6
      "just some words\n"            // 7
      "qualify_frequency = 30\n");   // 8
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(profile.status().message());
  EXPECT_THAT(message, HasSubstr("line 4: force_rport: \"perhaps\" is not yes or no"));
  EXPECT_THAT(message, HasSubstr("line 5: unknown option \"colour\" (allowed: allow, "));
  EXPECT_THAT(message, HasSubstr("line 6: rtp_symmetric: set again (first on line 2)"));
  EXPECT_THAT(message, HasSubstr("line 7: \"just some words\" is not `name = value`"));
  EXPECT_THAT(message, Not(HasSubstr("line 8")));
  EXPECT_THAT(message, Not(HasSubstr("line 2:")));
}

TEST(ParseEndpointProfile, OptionNamesAreExact) {
  // Options the renderer writes itself, and near misses, are unknown.
  for (const char* name : {"context", "auth", "aors", "type", "password", "RTP_SYMMETRIC",
                           "rtp symmetric", "", "qualify_frequency+"}) {
    auto profile = ParseEndpointProfile(std::string(name) + " = yes\n");
    ASSERT_FALSE(profile.ok()) << name;
    EXPECT_THAT(std::string(profile.status().message()), StartsWith("line 1: unknown option")) << name;
  }
}

TEST(ParseEndpointProfile, NothingThatCouldBreakTheConfigFileGetsThrough) {
  for (const std::string& value :
       {std::string("yes\r[evil]"), std::string("yes ; comment"), std::string("yes\\"),
        std::string("yes\0x", 5), std::string("#include /etc/passwd"), std::string("(+)")}) {
    auto profile = ParseEndpointProfile("rtp_symmetric = " + value + "\n");
    EXPECT_FALSE(profile.ok()) << value;
  }
  // A newline ends the line: what follows is a line of its own, refused too.
  auto split = ParseEndpointProfile("rtp_symmetric = yes\n[evil]\n");
  ASSERT_FALSE(split.ok());
  EXPECT_THAT(std::string(split.status().message()), StartsWith("line 2: \"[evil]\" is not `name = value`"));
  // Errors echo the file's bytes escaped, on one line.
  auto echoed = ParseEndpointProfile("transport = a\x01\x1b[31mb\n");
  ASSERT_FALSE(echoed.ok());
  EXPECT_THAT(echoed.status().message(), HasSubstr("\\001\\033[31mb"));
}

TEST(ParseEndpointProfile, RefusesAnOversizedText) {
  auto profile = ParseEndpointProfile(std::string(64 * 1024 + 1, '#'));
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseEndpointProfile, EqualSettingsGiveEqualProfiles) {
  auto a = ParseEndpointProfile("rtp_symmetric=yes\nallow=G722,ulaw\nqualify_timeout=2.50\n");
  auto b = ParseEndpointProfile(
      "; other layout\r\n  qualify_timeout =  2.5 \r\n allow = g722 , ULAW\r\n"
      "rtp_symmetric=TRUE\r\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(EndpointProfileAllowList, CoversEveryOptionTheParserAccepts) {
  const std::vector<ProfileOptionSpec>& specs = EndpointProfileAllowList();
  ASSERT_FALSE(specs.empty());
  EXPECT_STREQ(specs[0].name, "disallow");
  for (const ProfileOptionSpec& spec : specs) {
    if (std::string(spec.name) == "disallow") continue;
    if (spec.default_value == nullptr) continue;
    // A default is a value the option's own grammar accepts unchanged.
    EXPECT_EQ(ValueOf(spec.name, spec.default_value), spec.default_value) << spec.name;
  }
}

TEST(ValidateEndpointProfile, AcceptsEveryParsedProfile) {
  auto profile = ParseEndpointProfile(
      "allow=opus,ulaw\ndirect_media=yes\ndtmf_mode=auto_info\nrtp_symmetric=yes\n"
      "force_rport=no\nrewrite_contact=yes\nice_support=yes\ntransport=tls\ntimers=required\n"
      "100rel=peer_supported\nmax_contacts=10\nremove_existing=no\nqualify_frequency=0\n"
      "qualify_timeout=60\n");
  ASSERT_TRUE(profile.ok()) << profile.status();
  EXPECT_EQ(profile->endpoint.size() + profile->aor.size(), EndpointProfileAllowList().size());
  EXPECT_TRUE(ValidateEndpointProfile(*profile).ok());
}

TEST(ValidateEndpointProfile, RefusesWhatTheParserNeverMakes) {
  EndpointProfile profile = DefaultEndpointProfile();
  profile.aor.push_back({"qualify_timeout", "3.0"});  // not canonical
  EXPECT_EQ(ValidateEndpointProfile(profile).code(), absl::StatusCode::kInternal);
  profile = DefaultEndpointProfile();
  profile.endpoint.erase(profile.endpoint.begin());  // allow without disallow
  EXPECT_EQ(ValidateEndpointProfile(profile).code(), absl::StatusCode::kInternal);
  profile = DefaultEndpointProfile();
  profile.endpoint.push_back({"callerid", "x"});
  EXPECT_EQ(ValidateEndpointProfile(profile).code(), absl::StatusCode::kInternal);
}

// A file of the repository (core_test knows where tests/golden is).
std::string RepoFile(const std::string& path) {
  std::ifstream file(std::string(PBX_GOLDEN_DIR) + "/../../" + path, std::ios::binary);
  EXPECT_TRUE(file.good()) << path;
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

TEST(EndpointProfileExample, IsAValidNatProfile) {
  auto profile = ParseEndpointProfile(RepoFile("deploy/endpoint-profile.example"));
  ASSERT_TRUE(profile.ok()) << profile.status();
  EXPECT_THAT(profile->endpoint,
              ::testing::IsSupersetOf({Option("rtp_symmetric", "yes"), Option("force_rport", "yes"),
                                       Option("rewrite_contact", "yes")}));
  EXPECT_THAT(profile->aor, ::testing::Contains(Option("qualify_frequency", "30")));
}

// README.md's table ("Endpoint profile") lists every allowed option, on its
// object, with the default the code has.
TEST(EndpointProfileReadme, ListsEveryAllowedOptionWithItsDefault) {
  const std::string readme = RepoFile("README.md");
  for (const ProfileOptionSpec& spec : EndpointProfileAllowList()) {
    const std::string row = std::string("| `") + spec.name + "` | " +
                            (spec.object == ProfileObject::kEndpoint ? "endpoint" : "aor") + " | ";
    const size_t at = readme.find(row);
    ASSERT_NE(at, std::string::npos) << "README.md has no row " << row;
    const std::string line = readme.substr(at, readme.find('\n', at) - at);
    const std::string last_cell = line.substr(line.rfind(" | ") + 3);
    if (spec.default_value != nullptr) {
      EXPECT_THAT(last_cell, StartsWith(std::string("`") + spec.default_value + "`")) << line;
    } else {
      EXPECT_THAT(last_cell, StartsWith("–")) << line;
    }
  }
}

}  // namespace
}  // namespace pbx
