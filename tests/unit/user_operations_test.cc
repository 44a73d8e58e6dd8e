// UserOperations over an in-memory store: what reaches the store, and what
// never does.
#include "server/users/user_operations.h"

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/field_violations.h"
#include "tests/unit/fake_seams.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// All-zero bytes make the secret "AAAA...": known in advance.
void ZeroBytes(absl::Span<uint8_t> out) { std::fill(out.begin(), out.end(), 0); }

class UserOperationsTest : public ::testing::Test {
 protected:
  testing::FakeUserStore store_;
  UserOperations operations_{store_, ZeroBytes};
};

TEST_F(UserOperationsTest, CreateStoresTheTrimmedUserWithAFreshSecret) {
  auto created = operations_.CreateUser({"  Ada Lovelace ", " ada@example.com ", {{"team", "ops"}}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->user.name, "Ada Lovelace");
  EXPECT_EQ(created->user.email, "ada@example.com");
  EXPECT_EQ(created->user.extension, 1000);
  EXPECT_EQ(created->sip_credentials.password, std::string(24, 'A'));
  EXPECT_EQ(created->sip_credentials.username, "1000");
  EXPECT_THAT(store_.calls, ElementsAre("CreateUser"));
}

TEST_F(UserOperationsTest, InvalidInputNeverReachesTheStore) {
  auto created = operations_.CreateUser({"", "not-an-email", {{"bad key!", "v"}}});
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(created.status())) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("name", "email", "metadata"));
  EXPECT_THAT(store_.calls, IsEmpty());
}

TEST_F(UserOperationsTest, TheStoresVerdictReachesTheCallerUnchanged) {
  ASSERT_TRUE(operations_.CreateUser({"Ada", "ada@example.com", {}}).ok());
  auto again = operations_.CreateUser({"Ada Again", "ADA@example.com", {}});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("ADA@example.com"));
}

TEST_F(UserOperationsTest, IdsAreCheckedAndMadeCanonicalBeforeTheStoreSeesThem) {
  auto created = operations_.CreateUser({"Ada", "ada@example.com", {}});
  ASSERT_TRUE(created.ok());
  store_.calls.clear();
  for (const char* bad : {"", "42", "not-a-uuid", "00000000-0000-4000-8000-00000000000g"}) {
    EXPECT_EQ(operations_.GetUser(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(operations_.DeleteUser(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(operations_.GetSipCredentials(bad).status().code(),
              absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(store_.calls, IsEmpty());

  const std::string upper = absl::AsciiStrToUpper(created->user.id);
  auto user = operations_.GetUser(upper);
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->id, created->user.id);
  auto credentials = operations_.GetSipCredentials(upper);
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->password, std::string(24, 'A'));
  EXPECT_THAT(store_.calls, ElementsAre("GetUser " + created->user.id,
                                        "GetSipCredentials " + created->user.id));
}

TEST_F(UserOperationsTest, DeleteOfAnUnknownUserIsNotFound) {
  const absl::Status deleted = operations_.DeleteUser("00000000-0000-4000-8000-000000000999");
  EXPECT_EQ(deleted.code(), absl::StatusCode::kNotFound);
  auto created = operations_.CreateUser({"Ada", "ada@example.com", {}});
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(operations_.DeleteUser(created->user.id).ok());
  EXPECT_THAT(*operations_.ListUsers(), IsEmpty());
}

}  // namespace
}  // namespace pbx
