// The day-2 changes of PgUserStore against a real PostgreSQL: batch create,
// request ids, update, rotation, and the change audit written with each.
#include <atomic>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/error_info.h"
#include "server/core/extension_pool.h"
#include "server/core/sip_secret.h"
#include "server/store/pg_user_store.h"
#include "tests/integration/database_fixture.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const ChangeActor kActor{"00000000-0000-4000-8000-0000000000aa", "ops-bot", "req-42"};

class PgUserChangesTest : public testing::SchemaTest {
 protected:
  void SetUp() override {
    SchemaTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = std::make_unique<PgUserStore>(*pool_, secrets_);
  }

  static std::vector<NewUser> Users(int count, const std::string& tag) {
    std::vector<NewUser> users;
    for (int i = 0; i < count; ++i) {
      users.push_back({absl::StrCat("User ", tag, i), absl::StrCat(tag, i, "@example.com"), {}});
    }
    return users;
  }

  static std::vector<std::string> Secrets(size_t count) {
    std::vector<std::string> secrets;
    for (size_t i = 0; i < count; ++i) secrets.push_back(GenerateSipSecret());
    return secrets;
  }

  absl::StatusOr<std::vector<CreatedUser>> Batch(const std::vector<NewUser>& users,
                                                 bool validate_only = false,
                                                 const std::optional<IdempotencyKey>& key = {}) {
    return store_->CreateUsers(users, Secrets(users.size()),
                               {kActor, kActionBatchCreate, key, validate_only});
  }

  int64_t Count(const std::string& table) {
    pqxx::connection connection(url());
    return pqxx::nontransaction(connection)
        .exec1(absl::StrCat("SELECT count(*) FROM ", table))[0]
        .as<int64_t>();
  }

  std::unique_ptr<PgUserStore> store_;
};

TEST_F(PgUserChangesTest, BatchTakesTheLowestFreeNumbersInRequestOrderWithAnEventEach) {
  ASSERT_TRUE(Batch(Users(3, "first")).ok());
  auto listed = store_->ListUsers();
  ASSERT_TRUE(listed.ok());
  ASSERT_TRUE(store_->DeleteUser((*listed)[1].id, kActor).ok());  // frees 1001

  auto created = Batch(Users(3, "second"));
  ASSERT_TRUE(created.ok()) << created.status();
  std::vector<int> numbers;
  for (const CreatedUser& user : *created) {
    numbers.push_back(user.user.extension);
    EXPECT_EQ(store_->GetSipCredentials(user.user.id, kActor)->password,
              user.sip_credentials.password);
  }
  EXPECT_THAT(numbers, ElementsAre(1001, 1003, 1004));
  EXPECT_EQ((*created)[0].user.email, "second0@example.com");
  EXPECT_EQ((*created)[2].user.email, "second2@example.com");

  auto events = store_->ListChangeEvents(100, "");
  ASSERT_TRUE(events.ok());
  int batch_events = 0;
  for (const UserChangeEvent& event : *events) {
    if (event.action == kActionBatchCreate) ++batch_events;
    EXPECT_EQ(event.actor.key_name, "ops-bot");
    EXPECT_EQ(event.actor.request_id, "req-42");
  }
  EXPECT_EQ(batch_events, 6);
}

TEST_F(PgUserChangesTest, ABatchOverTheFreeExtensionsStoresNothingAndSaysHowManyAreFree) {
  ASSERT_TRUE(Batch(Users(kExtensionPoolSize - 2, "fill")).ok());
  const int64_t events_before = Count("user_change_events");
  auto refused = Batch(Users(3, "late"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("has 2 free extensions"));
  EXPECT_EQ(ErrorInfoOf(refused.status())->metadata.at("free_extensions"), "2");
  EXPECT_EQ(Count("users"), kExtensionPoolSize - 2);
  EXPECT_EQ(Count("user_change_events"), events_before);
  EXPECT_TRUE(Batch(Users(2, "last")).ok());
}

TEST_F(PgUserChangesTest, ABatchWithTakenEmailsNamesEachAndStoresNothing) {
  ASSERT_TRUE(Batch(Users(2, "old")).ok());
  auto refused = Batch({{"A", "new@example.com", {}}, {"B", "OLD1@example.com", {}},
                        {"C", "old0@example.com", {}}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("requests[1].email"), HasSubstr("requests[2].email")));
  EXPECT_EQ(Count("users"), 2);
}

TEST_F(PgUserChangesTest, ValidateOnlyChecksEverythingAndStoresNothing) {
  auto checked = Batch(Users(5, "dry"), /*validate_only=*/true);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_THAT(*checked, IsEmpty());
  EXPECT_EQ(Count("users"), 0);
  EXPECT_EQ(Count("user_change_events"), 0);
  ASSERT_TRUE(Batch(Users(1, "dry")).ok());
  EXPECT_EQ(Batch(Users(1, "dry"), true).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Batch(Users(kExtensionPoolSize, "many"), true).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(PgUserChangesTest, FiftyConcurrentCreatesWithOneRequestIdMakeOneUser) {
  const IdempotencyKey key{"6f1c4a52-9e0b-4d4c-8a55-2c1b3f7a9d10", "CreateUser",
                           std::string(64, 'a')};
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<std::vector<CreatedUser>>> results(50);
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      results[i] = store_->CreateUsers({{"Ada", "ada@example.com", {}}}, {GenerateSipSecret()},
                                       {kActor, kActionCreate, key});
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> ids;
  std::set<std::string> passwords;
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    ids.insert(result->front().user.id);
    passwords.insert(result->front().sip_credentials.password);
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(passwords.size(), 1u);
  EXPECT_EQ(Count("users"), 1);
  // One create; each of the 49 answers given again is a read of the password.
  EXPECT_EQ(Count("user_change_events WHERE action = 'user.create'"), 1);
  EXPECT_EQ(Count("user_change_events WHERE action = 'user.sip_credentials.read'"), 49);
}

TEST_F(PgUserChangesTest, ARequestIdIsRefusedForAnotherRequestAndForgottenAfterItsRetention) {
  IdempotencyKey key{"6f1c4a52-9e0b-4d4c-8a55-2c1b3f7a9d11", "BatchCreateUsers",
                     std::string(64, 'b')};
  auto first = Batch(Users(2, "key"), false, key);
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = Batch(Users(2, "key"), false, key);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[1].user.id, (*first)[1].user.id);
  EXPECT_EQ((*again)[1].sip_credentials.password, (*first)[1].sip_credentials.password);

  // Replayed, the answer is a read of the SIP credentials, recorded as one.
  auto events = store_->ListChangeEvents(2, "");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ((*events)[0].action, kActionReadCredentials);
  EXPECT_EQ((*events)[1].action, kActionReadCredentials);
  // Another API key with the same id and request does not get the passwords.
  const ChangeActor other_actor{"00000000-0000-4000-8000-0000000000bb", "someone-else", "req-9"};
  EXPECT_EQ(store_
                ->CreateUsers(Users(2, "key"), Secrets(2), {other_actor, kActionBatchCreate, key})
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);

  IdempotencyKey other = key;
  other.fingerprint = std::string(64, 'c');
  auto refused = Batch(Users(2, "other"), false, other);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrorInfoOf(refused.status())->reason, kRequestIdReusedReason);

  // A day later the id may serve a new request.
  {
    pqxx::connection connection(url());
    pqxx::work work(connection);
    work.exec("UPDATE create_requests SET created_at = now() - interval '23 hours 59 minutes'");
    work.commit();
  }
  EXPECT_EQ(Batch(Users(2, "other"), false, other).status().code(),
            absl::StatusCode::kAlreadyExists);
  {
    pqxx::connection connection(url());
    pqxx::work work(connection);
    work.exec("UPDATE create_requests SET created_at = now() - interval '24 hours 1 minute'");
    work.commit();
  }
  auto fresh = Batch(Users(2, "other"), false, other);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(Count("users"), 4);

  // Its users deleted, the first request cannot be answered again.
  for (const CreatedUser& user : *fresh) ASSERT_TRUE(store_->DeleteUser(user.user.id, kActor).ok());
  auto gone = Batch(Users(2, "other"), false, other);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(PgUserChangesTest, UpdateRecordsOldAndNewValuesOrNothingWhenRefused) {
  auto created = Batch({{"Ada", "ada@example.com", {{"team", "ops"}}},
                        {"Grace", "grace@example.com", {}}});
  ASSERT_TRUE(created.ok());
  const std::string id = (*created)[0].user.id;

  UserPatch taken;
  taken.email = "GRACE@example.com";
  EXPECT_EQ(store_->UpdateUser(id, taken, kActor).status().code(),
            absl::StatusCode::kAlreadyExists);

  UserPatch patch;
  patch.email = "ada@example.org";
  patch.metadata = std::map<std::string, std::string>{{"team", "dev"}};
  auto updated = store_->UpdateUser(id, patch, kActor);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->name, "Ada");
  EXPECT_EQ(store_->GetUser(id)->email, "ada@example.org");

  // The same values again change nothing and record nothing.
  ASSERT_TRUE(store_->UpdateUser(id, patch, kActor).ok());
  auto events = store_->ListChangeEvents(10, id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  const UserChangeEvent& update = events->front();
  EXPECT_EQ(update.action, kActionUpdate);
  EXPECT_EQ(update.extension, 1000);
  ASSERT_EQ(update.changes.size(), 2u);
  EXPECT_EQ(update.changes[0].field, "email");
  EXPECT_EQ(std::get<std::string>(update.changes[0].old_value), "ada@example.com");
  EXPECT_EQ(std::get<std::string>(update.changes[0].new_value), "ada@example.org");
  EXPECT_EQ(update.changes[1].field, "metadata");
  EXPECT_EQ((std::get<std::map<std::string, std::string>>(update.changes[1].old_value)),
            (std::map<std::string, std::string>{{"team", "ops"}}));
}

TEST_F(PgUserChangesTest, RotationReplacesTheSealedSecretAndRecordsNoPassword) {
  auto created = Batch(Users(1, "rot"));
  ASSERT_TRUE(created.ok());
  const CreatedUser& user = created->front();
  const std::string fresh = GenerateSipSecret();
  auto rotated = store_->ReplaceSipSecret(user.user.id, fresh, kActor);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->password, fresh);
  EXPECT_EQ(store_->GetSipCredentials(user.user.id, kActor)->password, fresh);
  auto provisioned = store_->ReadProvisioning();
  ASSERT_TRUE(provisioned.ok());
  EXPECT_EQ(provisioned->front().sip_secret, fresh);
  EXPECT_EQ(store_->ReplaceSipSecret("00000000-0000-4000-8000-000000000999", fresh, kActor)
                .status()
                .code(),
            absl::StatusCode::kNotFound);

  pqxx::connection connection(url());
  const std::string all_events =
      pqxx::nontransaction(connection)
          .exec1("SELECT coalesce(string_agg(changes::text, ' '), '') FROM user_change_events")[0]
          .as<std::string>();
  EXPECT_THAT(all_events, HasSubstr("sip_password"));
  EXPECT_THAT(all_events, ::testing::Not(HasSubstr(fresh)));
  EXPECT_THAT(all_events, ::testing::Not(HasSubstr(user.sip_credentials.password)));
}

TEST_F(PgUserChangesTest, DeleteAndCredentialReadsAreRecordedAndEventsCannotBeChanged) {
  auto created = Batch(Users(1, "del"));
  ASSERT_TRUE(created.ok());
  const std::string id = created->front().user.id;
  ASSERT_TRUE(store_->GetSipCredentials(id, kActor).ok());
  ASSERT_TRUE(store_->DeleteUser(id, kActor).ok());
  auto events = store_->ListChangeEvents(10, id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].action, kActionDelete);
  EXPECT_EQ(std::get<std::string>((*events)[0].changes[1].old_value), "del0@example.com");
  EXPECT_TRUE(std::holds_alternative<std::monostate>((*events)[0].changes[1].new_value));
  EXPECT_EQ((*events)[1].action, kActionReadCredentials);
  EXPECT_EQ(store_->ListChangeEvents(1, "")->size(), 1u);

  pqxx::connection connection(url());
  for (const char* statement : {"UPDATE user_change_events SET action = 'user.update'",
                                "DELETE FROM user_change_events", "TRUNCATE user_change_events"}) {
    pqxx::work work(connection);
    EXPECT_THROW(work.exec(statement), pqxx::sql_error) << statement;
  }
}

}  // namespace
}  // namespace pbx
