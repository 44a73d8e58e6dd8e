// PgUserStore and the migrations against a real PostgreSQL.
#include "server/store/pg_user_store.h"

#include <algorithm>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/sip_secret.h"
#include "server/store/migrations.h"
#include "server/store/sip_secret_sealing.h"
#include "tests/integration/database_fixture.h"

namespace pbx {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const ChangeActor kActor{"00000000-0000-4000-8000-0000000000aa", "store-test", "req-store"};

absl::StatusOr<CreatedUser> CreateOne(UserStore& store, const NewUser& user,
                                      const std::string& sip_secret) {
  absl::StatusOr<std::vector<CreatedUser>> created =
      store.CreateUsers({user}, {sip_secret}, {kActor, kActionCreate, std::nullopt});
  if (!created.ok()) return created.status();
  return created->front();
}

class PgUserStoreTest : public testing::SchemaTest {
 protected:
  void SetUp() override {
    SchemaTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = std::make_unique<PgUserStore>(*pool_, secrets_);
  }

  absl::StatusOr<CreatedUser> Create(const std::string& tag) {
    return CreateOne(*store_, {"User " + tag, tag + "@example.com", {}}, GenerateSipSecret());
  }

  // Fills extensions [first, last] straight in SQL, far faster than one by one.
  void Fill(int first, int last) {
    pqxx::connection connection(database_->url());
    pqxx::work work(connection);
    work.exec_params(
        "WITH u AS (INSERT INTO users (tenant_id, name, email)"
        " SELECT (SELECT id FROM tenants), 'Bulk ' || n, 'bulk' || n || '@example.com'"
        " FROM generate_series($1::int, $2::int) n RETURNING id, name)"
        " INSERT INTO extensions (number, user_id, sip_secret)"
        " SELECT substr(name, 6)::int, id, 'AAAAAAAAAAAAAAAAAAAAAAAA' FROM u",
        first, last);
    work.commit();
  }

  std::unique_ptr<PgUserStore> store_;
};

TEST_F(PgUserStoreTest, MigrationsRunOnceEvenWhenStartedConcurrently) {
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto connection = pool_->Connect();
      results[i] = connection.ok() ? ApplyMigrations(**connection, EmbeddedMigrations())
                                   : connection.status();
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_TRUE(result.ok()) << result;
  pqxx::connection connection(database_->url());
  pqxx::nontransaction query(connection);
  EXPECT_EQ(query.exec("SELECT count(*) FROM schema_migrations")[0][0].as<size_t>(),
            EmbeddedMigrations().size());
  EXPECT_EQ(query.exec("SELECT count(*) FROM tenants")[0][0].as<int>(), 1);
}

TEST_F(PgUserStoreTest, RefusesADatabaseWhoseAppliedMigrationChanged) {
  std::vector<Migration> edited = EmbeddedMigrations();
  const std::string changed_sql = std::string(edited[0].sql) + "\n-- edited";
  edited[0].sql = changed_sql;
  auto connection = pool_->Connect();
  ASSERT_TRUE(connection.ok());
  absl::Status status = ApplyMigrations(**connection, edited);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("differs from the version applied"));
  EXPECT_TRUE(ApplyMigrations(**connection, EmbeddedMigrations()).ok());
}

TEST_F(PgUserStoreTest, AllocatesLowestFreeNumberAndReusesFreedOnes) {
  for (int expected = 1000; expected < 1003; ++expected) {
    auto user = Create("u" + std::to_string(expected));
    ASSERT_TRUE(user.ok()) << user.status();
    EXPECT_EQ(user->user.extension, expected);
    EXPECT_EQ(user->sip_credentials.username, std::to_string(expected));
  }
  auto all = store_->ListUsers();
  ASSERT_TRUE(all.ok());
  ASSERT_TRUE(store_->DeleteUser((*all)[1].id, kActor).ok());
  auto next = Create("again");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->user.extension, 1001);
  EXPECT_EQ(Create("fourth")->user.extension, 1003);
}

TEST_F(PgUserStoreTest, LastNumberThenExhaustion) {
  Fill(1000, 1998);
  auto last = Create("last");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->user.extension, 1999);
  auto none = Create("none");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(none.status().message(), HasSubstr("1000-1999"));
  EXPECT_EQ(store_->ListUsers()->size(), 1000u);  // the refused user was not stored
}

TEST_F(PgUserStoreTest, DuplicateEmailIgnoringCaseIsRefused) {
  ASSERT_TRUE(CreateOne(*store_, {"Ada", "ada@example.com", {}}, GenerateSipSecret()).ok());
  auto duplicate =
      CreateOne(*store_, {"Ada 2", "ADA@Example.COM", {}}, GenerateSipSecret());
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->ListUsers()->size(), 1u);
  EXPECT_EQ(Create("next")->user.extension, 1001);  // the failed create used no number
}

TEST_F(PgUserStoreTest, ConcurrentCreatesGetDistinctLowestNumbers) {
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<int>> numbers(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto user = Create("c" + std::to_string(t) + "_" + std::to_string(i));
        if (user.ok()) numbers[t].push_back(user->user.extension);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<int> all;
  for (const auto& list : numbers) all.insert(list.begin(), list.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1000);
  EXPECT_EQ(*all.rbegin(), 1000 + kThreads * kPerThread - 1);
}

TEST_F(PgUserStoreTest, StoresAndReadsBackEveryField) {
  const std::string secret = GenerateSipSecret();
  auto created = CreateOne(
      *store_, {"Zoë \"Q\" O'Brien; [x]", "zoe@example.com", {{"team", "ops"}, {"note", "a\"b\\c"}}},
      secret);
  ASSERT_TRUE(created.ok()) << created.status();
  auto user = store_->GetUser(created->user.id);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->name, "Zoë \"Q\" O'Brien; [x]");
  EXPECT_EQ(user->email, "zoe@example.com");
  EXPECT_EQ(user->metadata, (std::map<std::string, std::string>{{"team", "ops"},
                                                               {"note", "a\"b\\c"}}));
  EXPECT_EQ(user->extension, 1000);
  EXPECT_FALSE(user->tenant_id.empty());
  EXPECT_LT(absl::AbsDuration(user->created_at - absl::Now()), absl::Minutes(1));
  auto credentials = store_->GetSipCredentials(created->user.id, kActor);
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->password, secret);
  EXPECT_EQ(credentials->username, "1000");
}

// Metadata goes through jsonb and back; values that need JSON escaping, and
// the shortcut for users without metadata, must round-trip unchanged.
TEST_F(PgUserStoreTest, MetadataRoundTripsThroughJsonb) {
  const std::map<std::string, std::string> metadata = {
      {"braces", "{a,b}"}, {"comma, key", "x,y"}, {"empty", ""}, {"null", "NULL"},
      {"quote", "say \"hi\""}, {"slash", "a\\b"}, {"space", " padded "}, {"ünï", "çødé ✓"}};
  auto created = CreateOne(*store_, {"Array Quoting", "quoting@example.com", metadata},
                                    GenerateSipSecret());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->user.metadata, metadata);
  auto listed = store_->ListUsers();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().metadata, metadata);
  auto none = CreateOne(*store_, {"No Metadata", "none@example.com", {}}, GenerateSipSecret());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->user.metadata.empty());
}

TEST_F(PgUserStoreTest, UnknownIdsAreNotFound) {
  const std::string unknown = "123e4567-e89b-12d3-a456-426614174000";
  EXPECT_EQ(store_->GetUser(unknown).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteUser(unknown, kActor).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetSipCredentials(unknown, kActor).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PgUserStoreTest, SchemaRejectsOutOfRangeNumbersAndWeakSecrets) {
  pqxx::connection connection(database_->url());
  auto insert = [&](int number, const std::string& secret) {
    pqxx::work work(connection);
    auto id = work.exec(
        "INSERT INTO users (tenant_id, name, email) SELECT id, 'x', "
        "md5(random()::text) || '@example.com' FROM tenants RETURNING id::text")[0][0]
                  .as<std::string>();
    work.exec_params("INSERT INTO extensions (number, user_id, sip_secret) VALUES ($1, $2, $3)",
                     number, id, secret);
    work.commit();
  };
  EXPECT_THROW(insert(2000, GenerateSipSecret()), pqxx::check_violation);
  EXPECT_THROW(insert(999, GenerateSipSecret()), pqxx::check_violation);
  EXPECT_THROW(insert(1000, "short"), pqxx::check_violation);
  EXPECT_THROW(insert(1000, "has;semicolon0000000000000"), pqxx::check_violation);
}

TEST_F(PgUserStoreTest, UnreachableDatabaseIsUnavailable) {
  PgPool pool(PgPoolOptions{"postgresql://postgres@127.0.0.1:1/none", 2, 1});
  pool.MarkSchemaReady();
  PgUserStore store(pool, secrets_);
  const absl::Time start = absl::Now();
  auto users = store.ListUsers();
  EXPECT_EQ(users.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(users.status().message(), ::testing::Not(HasSubstr("127.0.0.1")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(PgUserStoreTest, CountsAllocatedExtensions) {
  EXPECT_EQ(*store_->CountExtensions(), 0);
  auto first = Create("count1");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Create("count2").ok());
  EXPECT_EQ(*store_->CountExtensions(), 2);
  ASSERT_TRUE(store_->DeleteUser(first->user.id, kActor).ok());
  EXPECT_EQ(*store_->CountExtensions(), 1);
  Fill(1100, 1199);
  EXPECT_EQ(*store_->CountExtensions(), 101);
}

TEST_F(PgUserStoreTest, RequestsWaitForTheSchema) {
  PgPool pool(PgPoolOptions{database_->url(), 2});
  PgUserStore store(pool, secrets_);
  EXPECT_EQ(store.ListUsers().status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PgUserStoreTest, ProvisioningIsSortedByNumber) {
  for (const char* tag : {"a", "b", "c"}) ASSERT_TRUE(Create(tag).ok());
  auto all = store_->ListUsers();
  ASSERT_TRUE(store_->DeleteUser((*all)[1].id, kActor).ok());
  auto provisioning = store_->ReadProvisioning();
  ASSERT_TRUE(provisioning.ok()) << provisioning.status();
  std::vector<int> numbers;
  for (const auto& extension : *provisioning) {
    numbers.push_back(extension.number);
    EXPECT_EQ(extension.sip_secret.size(), 24u);
  }
  EXPECT_THAT(numbers, ::testing::ElementsAre(1000, 1002));
}

TEST_F(PgUserStoreTest, TheProvisioningFingerprintFollowsEveryNumberAndSecret) {
  auto empty = store_->ReadProvisioningUnless("");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->extensions.empty());
  const std::string none = empty->fingerprint;
  EXPECT_FALSE(none.empty()) << "a fingerprint also of no rows";

  auto a = Create("a");
  auto b = Create("b");
  ASSERT_TRUE(a.ok() && b.ok());
  auto two = store_->ReadProvisioningUnless(none);
  ASSERT_TRUE(two.ok());
  EXPECT_TRUE(two->changed);
  ASSERT_EQ(two->extensions.size(), 2u);
  EXPECT_EQ(two->extensions[1].sip_secret, b->sip_credentials.password);

  auto same = store_->ReadProvisioningUnless(two->fingerprint);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->changed);
  EXPECT_TRUE(same->extensions.empty()) << "nothing sent when the caller has it";
  EXPECT_EQ(same->fingerprint, two->fingerprint);

  // A rotated secret, a deleted user, a user changed straight in SQL: each
  // is another fingerprint.
  ASSERT_TRUE(store_->ReplaceSipSecret(a->user.id, GenerateSipSecret(), kActor).ok());
  auto rotated = store_->ReadProvisioningUnless(two->fingerprint);
  ASSERT_TRUE(rotated.ok());
  EXPECT_TRUE(rotated->changed);
  EXPECT_NE(rotated->extensions[0].sip_secret, two->extensions[0].sip_secret);
  ASSERT_TRUE(store_->DeleteUser(b->user.id, kActor).ok());
  auto deleted = store_->ReadProvisioningUnless(rotated->fingerprint);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(deleted->changed);
  EXPECT_EQ(deleted->extensions.size(), 1u);
  {
    pqxx::connection connection(url());
    pqxx::nontransaction(connection).exec("UPDATE extensions SET number = 1500");
  }
  auto moved = store_->ReadProvisioningUnless(deleted->fingerprint);
  ASSERT_TRUE(moved.ok());
  EXPECT_TRUE(moved->changed);
  EXPECT_EQ(moved->extensions[0].number, 1500);
}

// ---------------------------------------------------------------- SIP secrets at rest

std::string SealedOf(const std::string& url, int number) {
  pqxx::connection connection(url);
  pqxx::row row = pqxx::nontransaction(connection).exec_params1(
      "SELECT coalesce(sip_secret, ''), sip_secret_sealed FROM extensions WHERE number = $1",
      number);
  EXPECT_EQ(row[0].as<std::string>(), "") << "a SIP secret is stored in clear";
  return row[1].as<std::string>();
}

TEST_F(PgUserStoreTest, SipSecretsAreStoredSealedAndReadInClear) {
  auto created = Create("sealed");
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string& password = created->sip_credentials.password;
  const std::string sealed = SealedOf(url(), 1000);
  EXPECT_THAT(sealed, ::testing::StartsWith("v1." + secrets_.current_key_id() + "."));
  EXPECT_THAT(sealed, ::testing::Not(HasSubstr(password)));
  EXPECT_EQ(store_->GetSipCredentials(created->user.id, kActor)->password, password);
  EXPECT_EQ((*store_->ReadProvisioning())[0].sip_secret, password);
}

TEST_F(PgUserStoreTest, ASealedSecretCopiedOntoAnotherUserDoesNotOpen) {
  auto first = Create("first");
  auto second = Create("second");
  ASSERT_TRUE(first.ok() && second.ok());
  {
    pqxx::connection connection(url());
    pqxx::nontransaction(connection).exec(
        "UPDATE extensions SET sip_secret_sealed ="
        " (SELECT sip_secret_sealed FROM extensions WHERE number = 1000) WHERE number = 1001");
  }
  auto credentials = store_->GetSipCredentials(second->user.id, kActor);
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store_->ReadProvisioning().status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(store_->GetSipCredentials(first->user.id, kActor).ok());
}

TEST_F(PgUserStoreTest, SecretsStoredInClearAreSealedWhenTheServerPrepares) {
  Fill(1000, 1002);  // rows as the versions before sealing wrote them
  pqxx::connection connection(url());
  ASSERT_TRUE(PrepareSipSecrets(connection, secrets_).ok());
  for (int number : {1000, 1001, 1002}) SealedOf(url(), number);
  auto provisioning = store_->ReadProvisioning();
  ASSERT_TRUE(provisioning.ok()) << provisioning.status();
  ASSERT_EQ(provisioning->size(), 3u);
  EXPECT_EQ((*provisioning)[2].sip_secret, "AAAAAAAAAAAAAAAAAAAAAAAA");
  // Idempotent: a second start changes nothing.
  const std::string before = SealedOf(url(), 1000);
  ASSERT_TRUE(PrepareSipSecrets(connection, secrets_).ok());
  EXPECT_EQ(SealedOf(url(), 1000), before);
}

TEST_F(PgUserStoreTest, AnotherKeyIsRefusedSayingWhichKeyIsMissing) {
  ASSERT_TRUE(Create("keyed").ok());
  absl::StatusOr<SecretBox> other = SecretBox::FromKeys(std::string(32, 'o'));
  pqxx::connection connection(url());
  absl::Status prepared = PrepareSipSecrets(connection, *other);
  EXPECT_EQ(prepared.code(), absl::StatusCode::kFailedPrecondition) << prepared;
  EXPECT_THAT(std::string(prepared.message()),
              AllOf(HasSubstr(secrets_.current_key_id()), HasSubstr("PBX_SECRET_KEY_FILE")));
}

TEST_F(PgUserStoreTest, RotatingTheKeyResealsEverySecretWithTheSamePasswords) {
  auto a = Create("rot-a");
  auto b = Create("rot-b");
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string new_key(32, 'n');
  absl::StatusOr<SecretBox> rotating = SecretBox::FromKeys(new_key, std::string(32, 'k'));
  pqxx::connection connection(url());
  absl::StatusOr<int> resealed = ResealSipSecrets(connection, *rotating);
  ASSERT_TRUE(resealed.ok()) << resealed.status();
  EXPECT_EQ(*resealed, 2);
  EXPECT_EQ(*ResealSipSecrets(connection, *rotating), 0);
  absl::StatusOr<SecretBox> only_new = SecretBox::FromKeys(new_key);
  ASSERT_TRUE(PrepareSipSecrets(connection, *only_new).ok());
  PgUserStore rotated(*pool_, *only_new);
  EXPECT_EQ(rotated.GetSipCredentials(a->user.id, kActor)->password, a->sip_credentials.password);
  EXPECT_EQ(rotated.GetSipCredentials(b->user.id, kActor)->password, b->sip_credentials.password);
}

}  // namespace
}  // namespace pbx
