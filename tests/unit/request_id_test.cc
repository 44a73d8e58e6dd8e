#include "server/transport/request_id.h"

#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

TEST(IsValidRequestId, TakesTheGatewaysAlphabetUpTo128Characters) {
  const std::vector<std::string> valid = {"abc-123", "a", "A.b_c:d-9", std::string(128, 'x')};
  for (const std::string& id : valid) {
    EXPECT_TRUE(IsValidRequestId(id)) << id;
  }
}

TEST(IsValidRequestId, RefusesWhatCouldForgeLogLines) {
  const std::vector<std::string> invalid = {"", std::string(129, 'x'), "a b",
                                            "a\"b", "a\nb", "a/b", "a\\b", "caf\xc3\xa9",
                                            std::string("a\0b", 3)};
  for (const std::string& id : invalid) {
    EXPECT_FALSE(IsValidRequestId(id)) << id;
  }
}

TEST(NewRequestId, IsValidHexAndFresh) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewRequestId();
    EXPECT_THAT(id, ::testing::MatchesRegex("[0-9a-f]{32}"));
    EXPECT_TRUE(IsValidRequestId(id));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(RequestIdOf, MakesOneWhenTheCallerSentNone) {
  grpc::ServerContext context;
  const std::string id = RequestIdOf(context);
  EXPECT_TRUE(IsValidRequestId(id));
  EXPECT_NE(RequestIdOf(context), id);
}

}  // namespace
}  // namespace pbx
