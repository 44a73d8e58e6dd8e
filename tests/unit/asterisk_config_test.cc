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

TEST(RenderAsteriskConfig, ThreeUsersMatchGoldenFiles) {
  auto config = RenderAsteriskConfig({{1005, kSecretC}, {1000, kSecretA}, {1001, kSecretB}});
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectGolden("three_users.generated_endpoints.conf", config->pjsip);
  ExpectGolden("three_users.generated_routing.conf", config->dialplan);
}

TEST(RenderAsteriskConfig, NoUsersStillRendersLoadableFiles) {
  auto config = RenderAsteriskConfig({});
  ASSERT_TRUE(config.ok());
  ExpectGolden("no_users.generated_endpoints.conf", config->pjsip);
  ExpectGolden("no_users.generated_routing.conf", config->dialplan);
  EXPECT_THAT(config->dialplan, HasSubstr("[synergy-internal]"));
}

TEST(RenderAsteriskConfig, IsDeterministicAndOrderIndependent) {
  auto a = RenderAsteriskConfig({{1001, kSecretB}, {1000, kSecretA}});
  auto b = RenderAsteriskConfig({{1000, kSecretA}, {1001, kSecretB}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->pjsip, b->pjsip);
  EXPECT_EQ(a->dialplan, b->dialplan);
  EXPECT_EQ(a->content_hash, b->content_hash);
  EXPECT_THAT(a->pjsip, HasSubstr("content-sha256: " + a->content_hash));
  EXPECT_THAT(a->dialplan, HasSubstr("content-sha256: " + a->content_hash));
}

TEST(RenderAsteriskConfig, HashChangesWithAnySecretOrNumber) {
  auto base = RenderAsteriskConfig({{1000, kSecretA}});
  auto other_secret = RenderAsteriskConfig({{1000, kSecretB}});
  auto other_number = RenderAsteriskConfig({{1001, kSecretA}});
  ASSERT_TRUE(base.ok() && other_secret.ok() && other_number.ok());
  EXPECT_NE(base->content_hash, other_secret->content_hash);
  EXPECT_NE(base->content_hash, other_number->content_hash);
  EXPECT_THAT(base->content_hash, ::testing::MatchesRegex("[0-9a-f]{64}"));
}

TEST(RenderAsteriskConfig, RefusesDataThatCouldBreakTheFile) {
  EXPECT_EQ(RenderAsteriskConfig({{2000, kSecretA}}).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(RenderAsteriskConfig({{999, kSecretA}}).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(RenderAsteriskConfig({{1000, kSecretA}, {1000, kSecretB}}).status().code(),
            absl::StatusCode::kInternal);
  for (const std::string& bad :
       {std::string("short"), kSecretA + "\n[evil]", kSecretA + ";x", kSecretA + " x",
        std::string(22, 'a') + "#include"}) {
    EXPECT_EQ(RenderAsteriskConfig({{1000, bad}}).status().code(), absl::StatusCode::kInternal)
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
