#include "server/common/log.h"

#include <thread>

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

TEST(ScopedLogRequestId, TagsLinesOnlyWhileInScope) {
  using ::testing::HasSubstr;
  using ::testing::Not;
  EXPECT_THAT(FormatLogLine("info", "before", {}), Not(HasSubstr("request_id")));
  {
    ScopedLogRequestId scope("req-\"1\"");
    EXPECT_THAT(FormatLogLine("info", "inside", {{"k", "v"}}),
                HasSubstr(R"("msg":"inside","request_id":"req-\"1\"","k":"v")"));
  }
  EXPECT_THAT(FormatLogLine("info", "after", {}), Not(HasSubstr("request_id")));
}

TEST(ScopedLogRequestId, NestedScopeRestoresTheOuterId) {
  using ::testing::HasSubstr;
  ScopedLogRequestId outer("outer");
  {
    ScopedLogRequestId inner("inner");
    EXPECT_THAT(FormatLogLine("info", "m", {}), HasSubstr(R"("request_id":"inner")"));
  }
  EXPECT_THAT(FormatLogLine("info", "m", {}), HasSubstr(R"("request_id":"outer")"));
}

TEST(ScopedLogRequestId, IsInvisibleToOtherThreads) {
  ScopedLogRequestId scope("mine");
  std::string other_thread_line;
  std::thread([&] { other_thread_line = FormatLogLine("info", "m", {}); }).join();
  EXPECT_THAT(other_thread_line, ::testing::Not(::testing::HasSubstr("request_id")));
}

}  // namespace
}  // namespace pbx
