#include "server/core/asterisk_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

using ::testing::HasSubstr;

// Golden files live in tests/golden; PBX_UPDATE_GOLDEN=1 rewrites them from
// the current renderer (review the diff before committing).
void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(PBX_GOLDEN_DIR) + "/" + name;
  if (const char* update = std::getenv("PBX_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << actual;
  }
  std::ifstream file(path, std::ios::binary);
  ASSERT_TRUE(file.good()) << "missing golden file " << path;
  std::stringstream expected;
  expected << file.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "differs from " << path;
}

const std::string kSecretA = "AAAAbbbbCCCCdddd00001111";
const std::string kSecretB = "zzzzYYYYxxxxWWWW22223333";
const std::string kSecretC = "Pq7Rs8Tu9Vw0Xy1Za2Bc3De4";
const EndpointProfile kDefault = DefaultEndpointProfile();

// A profile for phones behind NAT, set in a scrambled order and spelling: the
// file renders the allow-list's order and canonical values all the same.
constexpr char kNatProfile[] =
    "qualify_frequency = 30\n"
    "dtmf_mode = RFC4733\n"
    "rewrite_contact = true\n"
    "force_rport = yes\n"
    "rtp_symmetric = yes\n"
    "allow = G722, ulaw,alaw\n"
    "qualify_timeout = 2.50\n"
    "transport = transport-udp\n";

EndpointProfile NatProfile() {
  absl::StatusOr<EndpointProfile> profile = ParseEndpointProfile(kNatProfile);
  EXPECT_TRUE(profile.ok()) << profile.status();
  return profile.value_or(EndpointProfile{});
}

TEST(RenderAsteriskConfig, ThreeUsersMatchGoldenFiles) {
  auto config = RenderAsteriskConfig({{1005, kSecretC}, {1000, kSecretA}, {1001, kSecretB}}, kDefault);
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectGolden("three_users.generated_endpoints.conf", config->pjsip);
  ExpectGolden("three_users.generated_routing.conf", config->dialplan);
}

// The default profile keeps the endpoint lines of earlier versions and adds
// qualify_frequency=60 to the AOR.
TEST(RenderAsteriskConfig, DefaultProfileKeepsTheEarlierEndpointAndQualifiesTheAor) {
  auto config = RenderAsteriskConfig({{1000, kSecretA}}, kDefault);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->pjsip, HasSubstr("[1000]\n"
                                       "type=endpoint\n"
                                       "context=synergy-internal\n"
                                       "disallow=all\n"
                                       "allow=ulaw,alaw\n"
                                       "direct_media=no\n"
                                       "auth=1000-auth\n"
                                       "aors=1000\n"));
  EXPECT_THAT(config->pjsip, HasSubstr("[1000]\n"
                                       "type=aor\n"
                                       "max_contacts=1\n"
                                       "remove_existing=yes\n"
                                       "qualify_frequency=60\n"));
}

TEST(RenderAsteriskConfig, NatProfileMatchesGoldenFiles) {
  auto config =
      RenderAsteriskConfig({{1005, kSecretC}, {1000, kSecretA}, {1001, kSecretB}}, NatProfile());
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectGolden("three_users_nat_profile.generated_endpoints.conf", config->pjsip);
  // The dialplan does not depend on the profile; the hash in its header does.
  auto plain =
      RenderAsteriskConfig({{1005, kSecretC}, {1000, kSecretA}, {1001, kSecretB}}, kDefault);
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(config->content_hash, plain->content_hash);
  EXPECT_EQ(config->dialplan.substr(config->dialplan.find("\n[")),
            plain->dialplan.substr(plain->dialplan.find("\n[")));
}

TEST(RenderAsteriskConfig, EqualSettingsRenderEqualBytes) {
  // The same settings in another order, spelling and layout.
  auto reordered = ParseEndpointProfile(
      "# NAT\n"
      "transport=transport-udp\r\n"
      "qualify_timeout=2.5\r\n"
      "allow=g722,ULAW , alaw\r\n"
      "rtp_symmetric=YES\r\n"
      "force_rport=True\r\n"
      "; comment\r\n"
      "rewrite_contact=yes\r\n"
      "dtmf_mode=rfc4733\r\n"
      "qualify_frequency=030\r\n");
  ASSERT_TRUE(reordered.ok()) << reordered.status();
  auto a = RenderAsteriskConfig({{1000, kSecretA}, {1001, kSecretB}}, NatProfile());
  auto b = RenderAsteriskConfig({{1001, kSecretB}, {1000, kSecretA}}, *reordered);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->pjsip, b->pjsip);
  EXPECT_EQ(a->content_hash, b->content_hash);
}

TEST(RenderAsteriskConfig, HashChangesWithTheProfile) {
  auto base = RenderAsteriskConfig({{1000, kSecretA}}, kDefault);
  auto qualify = RenderAsteriskConfig({{1000, kSecretA}},
                                      *ParseEndpointProfile("qualify_frequency = 61"));
  ASSERT_TRUE(base.ok() && qualify.ok());
  EXPECT_NE(base->content_hash, qualify->content_hash);
}

// A profile built by hand rather than parsed never reaches the file unchecked.
TEST(RenderAsteriskConfig, RefusesAProfileOutsideTheAllowList) {
  const std::vector<EndpointProfile> bad = {
      {},  // no codecs
      {{{"disallow", "all"}, {"allow", "ulaw"}, {"direct_media", "no\n[evil]"}}, {}},
      {{{"disallow", "all"}, {"allow", "ulaw;x"}}, {}},
      {{{"disallow", "all"}, {"allow", "ulaw"}, {"context", "elsewhere"}}, {}},
      {{{"disallow", "all"}, {"allow", "ulaw"}, {"password", "x"}}, {}},
      {{{"disallow", "all"}, {"allow", "ulaw"}, {"max_contacts", "1"}}, {}},  // an AOR option
      {{{"disallow", "all"}, {"allow", "ulaw"}}, {{"rtp_symmetric", "yes"}}},  // an endpoint one
      {{{"allow", "ulaw"}, {"disallow", "all"}}, {}},                          // order
      {{{"disallow", "all"}, {"allow", "ulaw"}, {"rtp_symmetric", "yes"},
        {"direct_media", "no"}}, {}},                                         // order
      {{{"disallow", "all"}, {"allow", "ulaw"}, {"rtp_symmetric", "yes"},
        {"rtp_symmetric", "no"}}, {}},                                        // twice
      {{{"disallow", "all"}, {"allow", "ulaw"}, {"rtp_symmetric", "true"}}, {}},  // not canonical
      {{{"disallow", "none"}, {"allow", "ulaw"}}, {}},
      {{{"disallow", "all"}, {"allow", "ulaw"}}, {{"qualify_frequency", "60 ;x"}}},
  };
  for (const EndpointProfile& profile : bad) {
    EXPECT_EQ(RenderAsteriskConfig({{1000, kSecretA}}, profile).status().code(),
              absl::StatusCode::kInternal)
        << (profile.endpoint.empty() ? "empty" : profile.endpoint.back().name);
  }
}

TEST(RenderAsteriskConfig, NoUsersStillRendersLoadableFiles) {
  auto config = RenderAsteriskConfig({}, kDefault);
  ASSERT_TRUE(config.ok());
  ExpectGolden("no_users.generated_endpoints.conf", config->pjsip);
  ExpectGolden("no_users.generated_routing.conf", config->dialplan);
  EXPECT_THAT(config->dialplan, HasSubstr("[synergy-internal]"));
}

TEST(RenderAsteriskConfig, IsDeterministicAndOrderIndependent) {
  auto a = RenderAsteriskConfig({{1001, kSecretB}, {1000, kSecretA}}, kDefault);
  auto b = RenderAsteriskConfig({{1000, kSecretA}, {1001, kSecretB}}, kDefault);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->pjsip, b->pjsip);
  EXPECT_EQ(a->dialplan, b->dialplan);
  EXPECT_EQ(a->content_hash, b->content_hash);
  EXPECT_THAT(a->pjsip, HasSubstr("content-sha256: " + a->content_hash));
  EXPECT_THAT(a->dialplan, HasSubstr("content-sha256: " + a->content_hash));
}

TEST(RenderAsteriskConfig, HashChangesWithAnySecretOrNumber) {
  auto base = RenderAsteriskConfig({{1000, kSecretA}}, kDefault);
  auto other_secret = RenderAsteriskConfig({{1000, kSecretB}}, kDefault);
  auto other_number = RenderAsteriskConfig({{1001, kSecretA}}, kDefault);
  ASSERT_TRUE(base.ok() && other_secret.ok() && other_number.ok());
  EXPECT_NE(base->content_hash, other_secret->content_hash);
  EXPECT_NE(base->content_hash, other_number->content_hash);
  EXPECT_THAT(base->content_hash, ::testing::MatchesRegex("[0-9a-f]{64}"));
}

TEST(RenderAsteriskConfig, RefusesDataThatCouldBreakTheFile) {
  EXPECT_EQ(RenderAsteriskConfig({{2000, kSecretA}}, kDefault).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(RenderAsteriskConfig({{999, kSecretA}}, kDefault).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(RenderAsteriskConfig({{1000, kSecretA}, {1000, kSecretB}}, kDefault).status().code(),
            absl::StatusCode::kInternal);
  for (const std::string& bad :
       {std::string("short"), kSecretA + "\n[evil]", kSecretA + ";x", kSecretA + " x",
        std::string(22, 'a') + "#include"}) {
    EXPECT_EQ(RenderAsteriskConfig({{1000, bad}}, kDefault).status().code(), absl::StatusCode::kInternal)
        << bad;
  }
}

TEST(ExpectedObjectsFor, NamesEveryObjectApplyWrites) {
  ExpectedObjects expected = ExpectedObjectsFor({{1001, kSecretB}, {1000, kSecretA}});
  EXPECT_THAT(expected.endpoints, ::testing::ElementsAre("1000", "1001"));
  EXPECT_THAT(expected.aors, ::testing::ElementsAre("1000", "1001"));
  EXPECT_THAT(expected.auths, ::testing::ElementsAre("1000-auth", "1001-auth"));
  EXPECT_THAT(expected.dialplan_extensions, ::testing::ElementsAre("1000", "1001"));
}

}  // namespace
}  // namespace pbx
