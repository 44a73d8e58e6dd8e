// Parsing the generated files (as rendered, and as a person may have edited
// them on the host) and the per-extension diff Preview shows.
#include "server/core/config_diff.h"

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/asterisk_config.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::HasSubstr;

constexpr char kSecretA[] = "AAAAbbbbCCCCdddd00001111";
constexpr char kSecretB[] = "EEEEffffGGGGhhhh22223333";
constexpr char kSecretC[] = "IIIIjjjjKKKKllll44445555";

ConfigContents Parsed(const std::vector<ProvisionedExtension>& extensions,
                      const EndpointProfile& profile = DefaultEndpointProfile()) {
  absl::StatusOr<RenderedConfig> config = RenderAsteriskConfig(extensions, profile);
  EXPECT_TRUE(config.ok()) << config.status();
  return ParseConfigFiles(config->pjsip, config->dialplan);
}

TEST(ParseConfigFiles, FindsEveryObjectOfARenderedConfig) {
  const ConfigContents contents = Parsed({{1000, kSecretA}, {1005, kSecretB}});
  EXPECT_THAT(contents.objects.endpoints, ElementsAre("1000", "1005"));
  EXPECT_THAT(contents.objects.aors, ElementsAre("1000", "1005"));
  EXPECT_THAT(contents.objects.auths, ElementsAre("1000-auth", "1005-auth"));
  EXPECT_THAT(contents.objects.dialplan_extensions, ElementsAre("1000", "1005"));
  ASSERT_EQ(contents.extensions.size(), 2u);
  const ExtensionConfig& e = contents.extensions.at(1005);
  EXPECT_THAT(e.auth, ElementsAre("auth_type=userpass", "username=1005",
                                  std::string("password=") + kSecretB));
  EXPECT_THAT(e.dialplan, ElementsAre("exten=1005,1,Dial(PJSIP/1005,25)", "same=n,Hangup()"));
  EXPECT_THAT(e.endpoint, testing::Contains("auth=1005-auth"));
}

TEST(ParseConfigFiles, ToleratesHandEditsAndIgnoresWhatIsNotThePortals) {
  const std::string pjsip =
      "; a comment\n"
      "[transport-udp]\ntype=transport\nprotocol=udp\n"
      "[1500]   ; hand-made\n"
      "type = endpoint\n"
      "context => synergy-internal\n"
      "[trunk]\ntype=endpoint\n"
      "[2000]\ntype=endpoint\n"
      "[1500-auth]\ntype=auth\npassword=x\n"
      "[broken\n"
      "orphan=line\n";
  const std::string dialplan =
      "[other]\nexten => 1501,1,NoOp()\n"
      "[synergy-internal]\n"
      "include => other\n"
      "exten => 1500,1,Dial(PJSIP/1500,25)\n"
      " same => n,Hangup()\n"
      "exten => 9999,1,NoOp()\n"
      " same => n,Hangup()\n";
  const ConfigContents contents = ParseConfigFiles(pjsip, dialplan);
  EXPECT_THAT(contents.objects.endpoints, ElementsAre("1500"));
  EXPECT_THAT(contents.objects.auths, ElementsAre("1500-auth"));
  EXPECT_THAT(contents.objects.aors, IsEmpty());
  EXPECT_THAT(contents.objects.dialplan_extensions, ElementsAre("1500"));
  EXPECT_THAT(contents.extensions.at(1500).endpoint, ElementsAre("context=synergy-internal"));
  EXPECT_THAT(contents.extensions.at(1500).dialplan,
              ElementsAre("exten=1500,1,Dial(PJSIP/1500,25)", "same=n,Hangup()"));
}

TEST(ParseConfigFiles, EmptyOrGarbageFilesHoldNothing) {
  EXPECT_TRUE(ParseConfigFiles("", "").extensions.empty());
  EXPECT_TRUE(ParseConfigFiles("\x01\x02[[[]]]\n=\n", "[synergy-internal\nexten=>\n").extensions
                  .empty());
}

TEST(DiffConfigs, NamesAddedRemovedAndChangedExtensions) {
  const ConfigContents have = Parsed({{1000, kSecretA}, {1001, kSecretB}});
  const ConfigContents want = Parsed({{1000, kSecretC}, {1002, kSecretB}});
  const ConfigDiff diff = DiffConfigs(want, have);
  EXPECT_THAT(diff.added, ElementsAre(1002));
  EXPECT_THAT(diff.removed, ElementsAre(1001));
  ASSERT_EQ(diff.changed.size(), 1u);
  EXPECT_EQ(diff.changed[0].number, 1000);
  EXPECT_THAT(diff.changed[0].aspects, ElementsAre("password changed"));
  for (const std::string& aspect : diff.changed[0].aspects) {
    EXPECT_THAT(aspect, Not(HasSubstr(kSecretA)));
    EXPECT_THAT(aspect, Not(HasSubstr(kSecretC)));
  }
}

TEST(DiffConfigs, SameUsersDiffEmpty) {
  EXPECT_TRUE(DiffConfigs(Parsed({{1000, kSecretA}}), Parsed({{1000, kSecretA}})).empty());
  EXPECT_TRUE(DiffConfigs(Parsed({}), Parsed({})).empty());
}

TEST(DiffConfigs, NamesEachAspectThatChanged) {
  absl::StatusOr<RenderedConfig> config =
      RenderAsteriskConfig({{1000, kSecretA}}, DefaultEndpointProfile());
  ASSERT_TRUE(config.ok());
  const ConfigContents want = ParseConfigFiles(config->pjsip, config->dialplan);
  struct Case {
    std::string from, to, aspect;
    bool in_dialplan = false;
  } cases[] = {
      {"direct_media=no", "direct_media=yes", "endpoint options changed"},
      {"max_contacts=1", "max_contacts=5", "aor options changed"},
      {"username=1000", "username=1999", "auth changed"},
      {"Dial(PJSIP/1000,25)", "Dial(PJSIP/1000,60)", "dialplan changed", true},
  };
  for (const Case& c : cases) {
    const std::string pjsip =
        c.in_dialplan ? config->pjsip : absl::StrReplaceAll(config->pjsip, {{c.from, c.to}});
    const std::string dialplan =
        c.in_dialplan ? absl::StrReplaceAll(config->dialplan, {{c.from, c.to}}) : config->dialplan;
    ASSERT_TRUE(pjsip != config->pjsip || dialplan != config->dialplan) << c.from;
    const ConfigDiff diff = DiffConfigs(want, ParseConfigFiles(pjsip, dialplan));
    ASSERT_EQ(diff.changed.size(), 1u) << c.from;
    EXPECT_THAT(diff.changed[0].aspects, ElementsAre(c.aspect)) << c.from;
  }
}

TEST(DiffConfigs, CommentsAndSpacingAreNotChanges) {
  absl::StatusOr<RenderedConfig> config =
      RenderAsteriskConfig({{1000, kSecretA}}, DefaultEndpointProfile());
  ASSERT_TRUE(config.ok());
  const std::string respaced = absl::StrReplaceAll(
      config->pjsip, {{"direct_media=no", "direct_media = no   ; why not"}, {"\n[", "\n\n["}});
  EXPECT_TRUE(DiffConfigs(ParseConfigFiles(config->pjsip, config->dialplan),
                          ParseConfigFiles(respaced, config->dialplan))
                  .empty());
}

// DiffConfigTexts must say exactly what DiffConfigs of the parsed files says.
void ExpectSameDiff(absl::string_view want_pjsip, absl::string_view want_dialplan,
                    absl::string_view have_pjsip, absl::string_view have_dialplan) {
  const ConfigDiff parsed = DiffConfigs(ParseConfigFiles(want_pjsip, want_dialplan),
                                        ParseConfigFiles(have_pjsip, have_dialplan));
  // Also with the want side cut beforehand, from texts that moved since.
  const ExtensionLines want_lines(want_pjsip, want_dialplan);
  const std::string moved_pjsip(want_pjsip), moved_dialplan(want_dialplan);
  for (const ConfigDiff& cut :
       {DiffConfigTexts(want_pjsip, want_dialplan, have_pjsip, have_dialplan),
        DiffConfigTexts(want_lines, moved_pjsip, moved_dialplan, have_pjsip, have_dialplan)}) {
    EXPECT_EQ(cut.added, parsed.added);
    EXPECT_EQ(cut.removed, parsed.removed);
    ASSERT_EQ(cut.changed.size(), parsed.changed.size());
    for (size_t i = 0; i < cut.changed.size(); ++i) {
      EXPECT_EQ(cut.changed[i].number, parsed.changed[i].number);
      EXPECT_EQ(cut.changed[i].aspects, parsed.changed[i].aspects);
    }
  }
}

TEST(DiffConfigTexts, AgreesWithTheParsedDiff) {
  absl::StatusOr<RenderedConfig> a = RenderAsteriskConfig(
      {{1000, kSecretA}, {1001, kSecretB}, {1005, kSecretC}}, DefaultEndpointProfile());
  absl::StatusOr<RenderedConfig> b = RenderAsteriskConfig(
      {{1000, kSecretC}, {1002, kSecretB}, {1005, kSecretC}}, DefaultEndpointProfile());
  ASSERT_TRUE(a.ok() && b.ok());
  ExpectSameDiff(a->pjsip, a->dialplan, b->pjsip, b->dialplan);
  ExpectSameDiff(b->pjsip, b->dialplan, a->pjsip, a->dialplan);
  ExpectSameDiff(a->pjsip, a->dialplan, "", "");
  ExpectSameDiff("", "", a->pjsip, a->dialplan);
  // Hand edits: a comment, a respaced line, a stray section in the middle, an
  // extension repeated at the end, a dialplan include.
  const std::string edited_pjsip = absl::StrReplaceAll(
      a->pjsip, {{"direct_media=no", "direct_media = no ; hand"},
                 {"[1001-auth]", "[trunk]\ntype=endpoint\n[1001-auth]"}}) +
                                   "\n[1005]\ntype=endpoint\nallow=g722\n";
  const std::string edited_dialplan =
      absl::StrReplaceAll(a->dialplan, {{"exten => 1001,", "include => x\nexten => 1001,"}});
  ExpectSameDiff(a->pjsip, a->dialplan, edited_pjsip, edited_dialplan);
  ExpectSameDiff(edited_pjsip, edited_dialplan, a->pjsip, a->dialplan);
  const ConfigDiff diff = DiffConfigTexts(a->pjsip, a->dialplan, edited_pjsip, edited_dialplan);
  ASSERT_EQ(diff.changed.size(), 1u);
  EXPECT_EQ(diff.changed[0].number, 1005);
  EXPECT_THAT(diff.changed[0].aspects, ElementsAre("endpoint options changed"));
}


// The pjsip side is cut at its headers, found by their '['; a '[' that opens
// no header (in a value, after a comment, unclosed, closed only inside a
// comment) must leave the lines where the parser puts them.
TEST(DiffConfigTexts, OnlyRealHeadersCutThePjsipFile) {
  absl::StatusOr<RenderedConfig> a = RenderAsteriskConfig(
      {{1000, kSecretA}, {1001, kSecretB}, {1002, kSecretC}}, DefaultEndpointProfile());
  ASSERT_TRUE(a.ok());
  const std::string tricky = absl::StrReplaceAll(
      a->pjsip, {{"[1001]\ntype=endpoint", "  [1001]  \ntype=endpoint\nset_var=X=[1002]"},
                 {"[1001-auth]", "[1001-auth]\n; [1002]\nmailboxes=[1002"},
                 {"[1002-auth]", "[1002-auth] ; [1000]\n[1000 ; ]"}}) +
                             "\tx=1 [1000]\n" + std::string(3, '\0') + "[1000]\n[1002";
  ExpectSameDiff(a->pjsip, a->dialplan, tricky, a->dialplan);
  ExpectSameDiff(tricky, a->dialplan, a->pjsip, a->dialplan);
  const ConfigDiff diff = DiffConfigTexts(a->pjsip, a->dialplan, tricky, a->dialplan);
  EXPECT_THAT(diff.added, IsEmpty());
  EXPECT_THAT(diff.removed, IsEmpty());
  ASSERT_EQ(diff.changed.size(), 2u);
  EXPECT_EQ(diff.changed[0].number, 1001);
  EXPECT_EQ(diff.changed[1].number, 1002);
}

}  // namespace
}  // namespace pbx
