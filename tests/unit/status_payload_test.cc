// Error details as the core carries them: plain payloads, no protobuf.
#include "server/core/status_payload.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/error_info.h"
#include "server/core/field_violations.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(StringListPayload, RoundTripsAnyBytes) {
  absl::Status status = absl::InternalError("x");
  const std::vector<std::string> items = {"", "a:b", "12:", std::string("\0\n\xff", 3), "last"};
  SetStringListPayload(status, "test/list", items);
  EXPECT_EQ(StringListPayload(status, "test/list"), items);
  EXPECT_EQ(StringListPayload(status, "test/other"), std::nullopt);
}

TEST(StringListPayload, MalformedReadsAsAbsent) {
  for (const char* encoded : {"5:abc", "x:abc", "3abc", ":", "-1:a"}) {
    absl::Status status = absl::InternalError("x");
    status.SetPayload("test/list", absl::Cord(encoded));
    EXPECT_EQ(StringListPayload(status, "test/list"), std::nullopt) << encoded;
  }
}

TEST(FieldViolations, ListedInTheMessageAndCarriedOneByOne) {
  absl::Status status =
      InvalidFieldsError("invalid user", {{"name", "is required"}, {"email", "has no @"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "invalid user: name: is required; email: has no @");
  std::vector<std::pair<std::string, std::string>> got;
  for (const FieldViolation& v : FieldViolationsOf(status)) got.emplace_back(v.field, v.description);
  EXPECT_THAT(got, ElementsAre(Pair("name", "is required"), Pair("email", "has no @")));
  EXPECT_TRUE(FieldViolationsOf(absl::NotFoundError("x")).empty());
}

TEST(ErrorInfo, KeepsReasonAndMetadata) {
  absl::Status status =
      WithErrorInfo(absl::AbortedError("busy"), "APPLY_NOT_STARTED", {{"audit_id", "7"}});
  std::optional<ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "APPLY_NOT_STARTED");
  EXPECT_THAT(info->metadata, ElementsAre(Pair("audit_id", "7")));
  EXPECT_EQ(status.message(), "busy");
  EXPECT_FALSE(ErrorInfoOf(absl::AbortedError("busy")).has_value());
}

}  // namespace
}  // namespace pbx
