#include "server/core/live_state.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Outputs as Asterisk 22 prints them (captured from the lab).
constexpr char kEndpoints[] =
    "\n"
    " Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>\n"
    "==========================================================================================\n"
    "\n"
    " Endpoint:  1001                                                 Unavailable   0 of inf\n"
    " Endpoint:  1000                                                 Not in use    0 of inf\n"
    " Endpoint:  gsm-trunk/+4930123                                   Unavailable   0 of inf\n"
    "\n"
    "Objects found: 3\n";
constexpr char kAuths[] =
    " I/OAuth:  <AuthId/UserName.............................................................>\n"
    "==========================================================================================\n"
    "\n"
    " Auth:  1000-auth/1000\n"
    " Auth:  1001-auth/1001\n"
    "\n"
    "Objects found: 2\n";
constexpr char kDialplan[] =
    "[ Context 'synergy-internal' created by 'pbx_config' ]\n"
    "  '1000' =>         1. Dial(PJSIP/1000,25)                        "
    "[extensions.d/synergycall/generated_routing.conf:8]\n"
    "                    2. Hangup()                                   "
    "[extensions.d/synergycall/generated_routing.conf:9]\n"
    "  '1001' =>         1. Dial(PJSIP/1001,25)                        "
    "[extensions.d/synergycall/generated_routing.conf:10]\n"
    "\n"
    "-= 2 extensions (3 priorities) in 1 context. =-\n";

TEST(ParsePjsipList, ReadsIdsAndSkipsTheHeader) {
  EXPECT_THAT(ParsePjsipList(kEndpoints, "Endpoint"), ElementsAre("1000", "1001", "gsm-trunk"));
  EXPECT_THAT(ParsePjsipList(kAuths, "Auth"), ElementsAre("1000-auth", "1001-auth"));
  EXPECT_THAT(ParsePjsipList("No objects found.\n\n", "Aor"), IsEmpty());
}

TEST(ParseDialplanShow, ReadsFirstPriorities) {
  auto dialplan = ParseDialplanShow(kDialplan);
  EXPECT_EQ(dialplan.size(), 2u);
  EXPECT_EQ(dialplan.at("1000"), "Dial(PJSIP/1000,25)");
  EXPECT_EQ(dialplan.at("1001"), "Dial(PJSIP/1001,25)");
  EXPECT_THAT(ParseDialplanShow("There is no existence of 'synergy-internal' context\n"
                                "Command 'dialplan show synergy-internal' failed.\n"),
              IsEmpty());
}

ExpectedObjects TwoUsers() {
  return ExpectedObjectsFor({{1000, std::string(24, 'a')}, {1001, std::string(24, 'b')}});
}

LiveState MatchingState() {
  return {{"1000", "1001", "gsm-trunk"},
          {"1000", "1001"},
          {"1000-auth", "1001-auth"},
          {{"1000", "Dial(PJSIP/1000,25)"}, {"1001", "Dial(PJSIP/1001,25)"}}};
}

TEST(CompareLiveState, MatchingStateHasNoDifferencesAndIgnoresForeignObjects) {
  EXPECT_THAT(CompareLiveState(TwoUsers(), MatchingState()), IsEmpty());
}

TEST(CompareLiveState, NamesEveryMissingAndUnexpectedObject) {
  LiveState live = MatchingState();
  live.endpoints = {"1000", "1002"};             // 1001 rejected, 1002 left over
  live.auths = {"1000-auth", "1001-auth", "1002-auth"};
  live.dialplan["1001"] = "Dial(PJSIP/1001&PJSIP/1000,25)";
  live.dialplan["1777"] = "Dial(PJSIP/1777,25)";
  EXPECT_THAT(CompareLiveState(TwoUsers(), live),
              UnorderedElementsAre("endpoint 1001: missing", "endpoint 1002: unexpected",
                                   "auth 1002-auth: unexpected",
                                   "dialplan 1001: runs Dial(PJSIP/1001&PJSIP/1000,25) instead "
                                   "of Dial(PJSIP/1001,25)",
                                   "dialplan 1777: unexpected"));
}

TEST(CompareLiveState, AnythingInOurContextCounts) {
  LiveState live = MatchingState();
  live.dialplan["_X."] = "Dial(PJSIP/${EXTEN},25)";
  EXPECT_THAT(CompareLiveState(TwoUsers(), live), ElementsAre("dialplan _X.: unexpected"));
}

}  // namespace
}  // namespace pbx
