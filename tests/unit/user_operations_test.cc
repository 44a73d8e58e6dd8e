// UserOperations over an in-memory store: what reaches the store, and what
// never does.
#include "server/users/user_operations.h"

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/field_violations.h"
#include "server/core/validation.h"
#include "tests/unit/fake_seams.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const ChangeActor kActor{"00000000-0000-4000-8000-0000000000aa", "ops-bot", "req-1"};

// All-zero bytes make the secret "AAAA...": known in advance.
void ZeroBytes(absl::Span<uint8_t> out) { std::fill(out.begin(), out.end(), 0); }

class UserOperationsTest : public ::testing::Test {
 protected:
  testing::FakeUserStore store_;
  UserOperations operations_{store_, ZeroBytes};
};

TEST_F(UserOperationsTest, CreateStoresTheTrimmedUserWithAFreshSecret) {
  auto created = operations_.CreateUser({"  Ada Lovelace ", " ada@example.com ", {{"team", "ops"}}}, "", kActor);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->user.name, "Ada Lovelace");
  EXPECT_EQ(created->user.email, "ada@example.com");
  EXPECT_EQ(created->user.extension, 1000);
  EXPECT_EQ(created->sip_credentials.password, std::string(24, 'A'));
  EXPECT_EQ(created->sip_credentials.username, "1000");
  EXPECT_THAT(store_.calls, ElementsAre("CreateUsers"));
}

TEST_F(UserOperationsTest, InvalidInputNeverReachesTheStore) {
  auto created = operations_.CreateUser({"", "not-an-email", {{"bad key!", "v"}}}, "", kActor);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(created.status())) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("name", "email", "metadata"));
  EXPECT_THAT(store_.calls, IsEmpty());
}

TEST_F(UserOperationsTest, TheStoresVerdictReachesTheCallerUnchanged) {
  ASSERT_TRUE(operations_.CreateUser({"Ada", "ada@example.com", {}}, "", kActor).ok());
  auto again = operations_.CreateUser({"Ada Again", "ADA@example.com", {}}, "", kActor);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("ADA@example.com"));
}

TEST_F(UserOperationsTest, IdsAreCheckedAndMadeCanonicalBeforeTheStoreSeesThem) {
  auto created = operations_.CreateUser({"Ada", "ada@example.com", {}}, "", kActor);
  ASSERT_TRUE(created.ok());
  store_.calls.clear();
  for (const char* bad : {"", "42", "not-a-uuid", "00000000-0000-4000-8000-00000000000g"}) {
    EXPECT_EQ(operations_.GetUser(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(operations_.DeleteUser(bad, kActor).code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(operations_.GetSipCredentials(bad, kActor).status().code(),
              absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(store_.calls, IsEmpty());

  const std::string upper = absl::AsciiStrToUpper(created->user.id);
  auto user = operations_.GetUser(upper);
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->id, created->user.id);
  auto credentials = operations_.GetSipCredentials(upper, kActor);
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->password, std::string(24, 'A'));
  EXPECT_THAT(store_.calls, ElementsAre("GetUser " + created->user.id,
                                        "GetSipCredentials " + created->user.id));
}

TEST_F(UserOperationsTest, DeleteOfAnUnknownUserIsNotFound) {
  const absl::Status deleted = operations_.DeleteUser("00000000-0000-4000-8000-000000000999", kActor);
  EXPECT_EQ(deleted.code(), absl::StatusCode::kNotFound);
  auto created = operations_.CreateUser({"Ada", "ada@example.com", {}}, "", kActor);
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(operations_.DeleteUser(created->user.id, kActor).ok());
  EXPECT_THAT(*operations_.ListUsers(), IsEmpty());
}

}  // namespace
}  // namespace pbx

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

std::vector<std::string> ViolatedFields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(status)) fields.push_back(v.field);
  return fields;
}

// Each call fills its bytes with the next value: every secret differs.
RandomBytes CountingBytes() {
  auto next = std::make_shared<uint8_t>(0);
  return [next](absl::Span<uint8_t> out) { std::fill(out.begin(), out.end(), ++*next); };
}

class UserChangesTest : public ::testing::Test {
 protected:
  CreatedUser Create(const std::string& email) {
    auto created = operations_.CreateUser({"Ada", email, {{"team", "ops"}}}, "", kActor);
    EXPECT_TRUE(created.ok()) << created.status();
    return *created;
  }

  testing::FakeUserStore store_;
  UserOperations operations_{store_, CountingBytes()};
};

TEST_F(UserChangesTest, UpdateChangesOnlyTheMaskedFields) {
  const CreatedUser ada = Create("ada@example.com");
  // The values carry an email too, but the mask does not name it.
  auto updated = operations_.UpdateUser(ada.user.id, {"name"},
                                        {"  Ada King ", "other@example.com", {}}, kActor);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->name, "Ada King");
  EXPECT_EQ(updated->email, "ada@example.com");
  EXPECT_THAT(updated->metadata, ElementsAre(Pair("team", "ops")));
  EXPECT_EQ(updated->extension, ada.user.extension);

  auto all = operations_.UpdateUser(ada.user.id, {"*"}, {"Ada", "ada@example.org", {}}, kActor);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->email, "ada@example.org");
  EXPECT_THAT(all->metadata, IsEmpty());
}

TEST_F(UserChangesTest, UpdateRefusesFieldsThatCannotChangeBeforeTheStore) {
  const CreatedUser ada = Create("ada@example.com");
  store_.calls.clear();
  auto refused = operations_.UpdateUser(ada.user.id, {"extension", "id", "color", "name"},
                                        {"", "", {}}, kActor);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(refused.status()),
              ElementsAre("user.extension", "user.id", "update_mask"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("extension"));

  auto empty_mask = operations_.UpdateUser(ada.user.id, {}, {"Ada", "", {}}, kActor);
  EXPECT_THAT(ViolatedFields(empty_mask.status()), ElementsAre("update_mask"));

  // Create's rules on every masked field, all reported at once.
  auto invalid = operations_.UpdateUser(ada.user.id, {"name", "email", "metadata"},
                                        {"", "nope", {{"bad key!", "v"}}}, kActor);
  EXPECT_THAT(ViolatedFields(invalid.status()),
              ElementsAre("user.name", "user.email", "user.metadata"));
  EXPECT_THAT(store_.calls, IsEmpty());
}

TEST_F(UserChangesTest, UpdateToATakenEmailIsAlreadyExistsAndRecordsNothing) {
  const CreatedUser ada = Create("ada@example.com");
  Create("grace@example.com");
  auto taken = operations_.UpdateUser(ada.user.id, {"email"}, {"", "GRACE@example.com", {}}, kActor);
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kAlreadyExists);
  auto events = operations_.ListChangeEvents(0, ada.user.id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().action, kActionCreate);
}

TEST_F(UserChangesTest, RotationGivesANewSecretAndRecordsNoValue) {
  const CreatedUser ada = Create("ada@example.com");
  auto rotated = operations_.RotateSipCredentials(ada.user.id, kActor);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_NE(rotated->password, ada.sip_credentials.password);
  EXPECT_EQ(rotated->password.size(), ada.sip_credentials.password.size());
  auto read = operations_.GetSipCredentials(ada.user.id, kActor);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->password, rotated->password);

  auto events = operations_.ListChangeEvents(0, ada.user.id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);  // newest first: read, rotate, create
  EXPECT_EQ((*events)[0].action, kActionReadCredentials);
  EXPECT_EQ((*events)[1].action, kActionRotate);
  ASSERT_EQ((*events)[1].changes.size(), 1u);
  EXPECT_EQ((*events)[1].changes[0].field, kSipPasswordField);
  EXPECT_TRUE(std::holds_alternative<std::monostate>((*events)[1].changes[0].new_value));
  for (const UserChangeEvent& event : *events) {
    EXPECT_EQ(event.actor.key_name, "ops-bot");
    EXPECT_EQ(event.actor.request_id, "req-1");
  }
  EXPECT_EQ(operations_.RotateSipCredentials("00000000-0000-4000-8000-000000000999", kActor)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(UserChangesTest, ARequestIdAnswersTheSameUserForTheSameRequestOnly) {
  const std::string key = "6F1C4A52-9E0B-4D4C-8A55-2C1B3F7A9D10";
  auto first = operations_.CreateUser({"Ada", "ada@example.com", {}}, key, kActor);
  ASSERT_TRUE(first.ok()) << first.status();
  // Trimmed, the same request; the id compares case-insensitively.
  auto retry = operations_.CreateUser({" Ada ", "ada@example.com", {}},
                                      absl::AsciiStrToLower(key), kActor);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->user.id, first->user.id);
  EXPECT_EQ(retry->sip_credentials.password, first->sip_credentials.password);

  auto other = operations_.CreateUser({"Grace", "grace@example.com", {}}, key, kActor);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("another request"));
  // The same id on the batch method is another request too.
  auto batch = operations_.BatchCreateUsers({{"Ada", "ada@example.com", {}}}, key, false, kActor);
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kAlreadyExists);

  // Another API key with the same id and request does not get the passwords.
  const ChangeActor other_key{"00000000-0000-4000-8000-0000000000bb", "someone-else", "req-2"};
  EXPECT_EQ(operations_.CreateUser({"Ada", "ada@example.com", {}}, key, other_key).status().code(),
            absl::StatusCode::kAlreadyExists);
  // The retry handed the password out again: recorded as a read.
  auto events = operations_.ListChangeEvents(0, first->user.id);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->front().action, kActionReadCredentials);

  auto malformed = operations_.CreateUser({"Ada", "ada2@example.com", {}}, "retry-1", kActor);
  EXPECT_THAT(ViolatedFields(malformed.status()), ElementsAre("request_id"));
  EXPECT_EQ(operations_.ListUsers()->size(), 1u);
}

TEST_F(UserChangesTest, BatchListsEveryViolationByIndexBeforeTheStore) {
  auto refused = operations_.BatchCreateUsers({{"Ada", "ada@example.com", {}},
                                               {"", "grace@example.com", {}},
                                               {"Ada Again", "ADA@example.com", {}},
                                               {"Bad", "nope", {}}},
                                              "", false, kActor);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(refused.status()),
              ElementsAre("requests[1].name", "requests[2].email", "requests[3].email"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("repeats requests[0].email"));
  EXPECT_THAT(ViolatedFields(operations_.BatchCreateUsers({}, "", false, kActor).status()),
              ElementsAre("requests"));
  std::vector<NewUser> too_many(kMaxBatchUsers + 1);
  EXPECT_THAT(ViolatedFields(operations_.BatchCreateUsers(too_many, "", false, kActor).status()),
              ElementsAre("requests"));
  EXPECT_THAT(store_.calls, IsEmpty());
}

TEST_F(UserChangesTest, BatchTakesTheLowestFreeExtensionsInRequestOrder) {
  const CreatedUser first = Create("a@example.com");
  Create("b@example.com");
  ASSERT_TRUE(operations_.DeleteUser(first.user.id, kActor).ok());
  auto checked = operations_.BatchCreateUsers(
      {{"C", "c@example.com", {}}, {"D", "d@example.com", {}}}, "", true, kActor);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_THAT(*checked, IsEmpty());
  EXPECT_EQ(operations_.ListUsers()->size(), 1u);

  auto created = operations_.BatchCreateUsers(
      {{"C", "c@example.com", {}}, {"D", "d@example.com", {}}}, "", false, kActor);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->size(), 2u);
  EXPECT_EQ((*created)[0].user.extension, 1000);
  EXPECT_EQ((*created)[1].user.extension, 1002);
  EXPECT_NE((*created)[0].sip_credentials.password, (*created)[1].sip_credentials.password);
  auto events = operations_.ListChangeEvents(2, "");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ((*events)[0].action, kActionBatchCreate);
  EXPECT_EQ((*events)[0].extension, 1002);
}

TEST_F(UserChangesTest, TheAuditPageAndUserFilterAreChecked) {
  EXPECT_THAT(ViolatedFields(operations_.ListChangeEvents(1001, "").status()),
              ElementsAre("limit"));
  EXPECT_THAT(ViolatedFields(operations_.ListChangeEvents(0, "ada").status()),
              ElementsAre("user_id"));
  ASSERT_TRUE(operations_.ListChangeEvents(0, "").ok());
  EXPECT_THAT(store_.calls, ElementsAre("ListChangeEvents 50 "));
}

}  // namespace
}  // namespace pbx

namespace pbx {
namespace {

TEST(UserOperationsRequestIds, ACheckWithTheIdOfACreateIsAnotherRequest) {
  testing::FakeUserStore store;
  UserOperations operations(store);
  const std::string key = "6f1c4a52-9e0b-4d4c-8a55-2c1b3f7a9d12";
  const std::vector<NewUser> users = {{"Ada", "ada@example.com", {}}};
  ASSERT_TRUE(operations.BatchCreateUsers(users, key, false, kActor).ok());
  // Not the created users again: the id belongs to the create.
  auto checked = operations.BatchCreateUsers(users, key, true, kActor);
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace pbx
