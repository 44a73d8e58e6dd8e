#include "server/core/validation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/field_violations.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> FieldsOf(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(status)) fields.push_back(v.field);
  return fields;
}

TEST(ValidateNewUser, AcceptsAndTrims) {
  auto user = ValidateNewUser({"  Ada Lovelace \t", " ada@example.com ", {{"team", "ops"}}});
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->name, "Ada Lovelace");
  EXPECT_EQ(user->email, "ada@example.com");
  EXPECT_EQ(user->metadata.at("team"), "ops");
}

TEST(ValidateNewUser, ListsEveryMissingFieldAtOnce) {
  auto user = ValidateNewUser({"", "", {}});
  ASSERT_EQ(user.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(user.status()), ElementsAre("name", "email"));
  EXPECT_THAT(user.status().message(), HasSubstr("name: is required"));
  EXPECT_THAT(user.status().message(), HasSubstr("email: is required"));
}

TEST(ValidateNewUser, WhitespaceOnlyNameIsMissing) {
  EXPECT_THAT(FieldsOf(ValidateNewUser({" \t ", "a@example.com", {}}).status()),
              ElementsAre("name"));
}

TEST(ValidateNewUser, NameLengthCountsCharactersNotBytes) {
  std::string hundred_e_acute;
  for (int i = 0; i < 100; ++i) hundred_e_acute += "\xC3\xA9";  // é, 2 bytes each
  EXPECT_TRUE(ValidateNewUser({hundred_e_acute, "a@example.com", {}}).ok());
  EXPECT_THAT(FieldsOf(ValidateNewUser({hundred_e_acute + "e", "a@example.com", {}}).status()),
              ElementsAre("name"));
  EXPECT_FALSE(ValidateNewUser({std::string(101, 'x'), "a@example.com", {}}).ok());
  EXPECT_FALSE(ValidateNewUser({std::string(10240, 'x'), "a@example.com", {}}).ok());
}

TEST(ValidateNewUser, RejectsControlCharactersAndLineSeparators) {
  for (std::string bad : std::vector<std::string>{"Ada\nLovelace", "Ada\r[1000]", std::string("Ada\0x", 5),
                          "Ada\x7f", "Ada\xC2\x85", "Ada\xE2\x80\xA8",
                          "Ada\xE2\x80\xAE" "evil" /* right-to-left override */,
                          "\xEF\xBB\xBF" "Ada" /* byte-order mark */}) {
    auto status = ValidateNewUser({bad, "a@example.com", {}}).status();
    EXPECT_THAT(FieldsOf(status), ElementsAre("name")) << bad;
  }
}

TEST(ValidateNewUser, RejectsInvalidUtf8) {
  for (std::string bad : std::vector<std::string>{"\xff", "\xC0\xAF" /* overlong '/' */, "\xED\xA0\x80" /* surrogate */,
                          "\xE2\x82" /* truncated */}) {
    auto status = ValidateNewUser({"Ada" + bad, "a@example.com", {}}).status();
    ASSERT_THAT(FieldsOf(status), ElementsAre("name"));
    EXPECT_THAT(status.message(), HasSubstr("UTF-8"));
  }
}

TEST(ValidateNewUser, AllowsPunctuationThatIsOnlyText) {
  // Such names are stored verbatim; Apply keeps them out of config files.
  EXPECT_TRUE(ValidateNewUser({"O'Brien; DROP TABLE users;-- [x] #1 & \"q\"",
                               "ob@example.com", {}}).ok());
}

TEST(ValidateNewUser, ChecksEmailSyntax) {
  for (const char* good : {"a@example.com", "first.last+tag@sub.example.co",
                           "o'brien@example.org"}) {
    EXPECT_TRUE(ValidateNewUser({"A", good, {}}).ok()) << good;
  }
  for (const char* bad : {"plainaddress", "@example.com", "a@", "a@localhost",
                          "a b@example.com", "a@exa mple.com", ".a@example.com",
                          "a..b@example.com", "a@-example.com", "a@example..com",
                          "a@example.com\r\nBcc: x@example.com",
                          "a;b@example.com", "a@exam_ple.com"}) {
    EXPECT_THAT(FieldsOf(ValidateNewUser({"A", bad, {}}).status()), ElementsAre("email"))
        << bad;
  }
}

TEST(ValidateNewUser, BoundsEmailLength) {
  const std::string domain = "@" + std::string(60, 'd') + "." + std::string(60, 'd') +
                             "." + std::string(60, 'd') + ".com";
  const std::string at_limit = std::string(254 - domain.size(), 'a') + domain;
  ASSERT_EQ(at_limit.size(), 254u);
  // The local part of that one is over 64 characters, so shorten it and pad the domain.
  const std::string ok = std::string(64, 'a') + "@" + std::string(63, 'b') + "." +
                         std::string(63, 'c') + "." + std::string(57, 'd') + ".com";
  ASSERT_EQ(ok.size(), 254u);
  EXPECT_TRUE(ValidateNewUser({"A", ok, {}}).ok());
  EXPECT_FALSE(ValidateNewUser({"A", "e" + ok, {}}).ok());
  EXPECT_FALSE(ValidateNewUser({"A", std::string(65, 'a') + "@example.com", {}}).ok());
}

TEST(ValidateNewUser, ChecksMetadata) {
  std::map<std::string, std::string> too_many;
  for (int i = 0; i < 33; ++i) too_many["k" + std::to_string(i)] = "v";
  EXPECT_THAT(FieldsOf(ValidateNewUser({"A", "a@example.com", too_many}).status()),
              ElementsAre("metadata"));
  EXPECT_THAT(
      FieldsOf(ValidateNewUser({"A", "a@example.com", {{"bad key", "v"}}}).status()),
      ElementsAre("metadata"));
  EXPECT_THAT(FieldsOf(ValidateNewUser(
                           {"A", "a@example.com", {{"note", std::string(513, 'v')}}})
                           .status()),
              ElementsAre("metadata.note"));
  EXPECT_THAT(
      FieldsOf(ValidateNewUser({"A", "a@example.com", {{"note", "a\nb"}}}).status()),
      ElementsAre("metadata.note"));
  EXPECT_TRUE(ValidateNewUser({"A", "a@example.com", {{"cost-center.id_1", "42"}}}).ok());
}

TEST(ValidateNewUser, ReportsEveryBadFieldTogether) {
  auto status = ValidateNewUser({"a\nb", "nope", {{"x", "a\tb"}}}).status();
  EXPECT_THAT(FieldsOf(status), ElementsAre("name", "email", "metadata.x"));
}

TEST(ValidateUserId, AcceptsUuidsAndLowerCasesThem) {
  auto id = ValidateUserId("123E4567-E89B-12D3-A456-426614174000");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "123e4567-e89b-12d3-a456-426614174000");
}

TEST(ValidateUserId, RejectsAnythingElse) {
  for (const char* bad : {"", "42", "not-a-uuid", "123e4567e89b12d3a456426614174000",
                          "123e4567-e89b-12d3-a456-42661417400g",
                          "123e4567-e89b-12d3-a456-4266141740000",
                          "1' OR '1'='1", "123e4567-e89b-12d3-a456-426614174000\n"}) {
    auto status = ValidateUserId(bad).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(FieldsOf(status), ElementsAre("id")) << bad;
  }
}

TEST(FieldViolations, AbsentOnOtherStatuses) {
  EXPECT_THAT(FieldViolationsOf(absl::NotFoundError("x")), IsEmpty());
}

}  // namespace
}  // namespace pbx
