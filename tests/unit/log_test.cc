#include "server/common/log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

TEST(FormatLogLine, IsOneEscapedJsonLine) {
  const std::string line =
      FormatLogLine("info", "created \"user\"", {{"name", "Ada\nEve\\\x01"}});
  EXPECT_THAT(line, ::testing::MatchesRegex(R"(\{"ts":"[0-9T:.Z-]+","level":"info",.*\})"));
  EXPECT_THAT(line, ::testing::HasSubstr(R"("msg":"created \"user\"")"));
  EXPECT_THAT(line, ::testing::HasSubstr(R"("name":"Ada\nEve\\\u0001")"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace pbx
