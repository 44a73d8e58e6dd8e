// PgApiKeyStore against a real PostgreSQL, through KeyOperations and the
// TokenVerifier that read it.
#include "server/store/pg_api_key_store.h"

#include <atomic>
#include <cstdio>
#include <thread>

#include <pqxx/pqxx>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/field_violations.h"
#include "absl/synchronization/notification.h"
#include "server/keys/admin_bootstrap.h"
#include "server/keys/key_operations.h"
#include "server/keys/token_verifier.h"
#include "tests/integration/database_fixture.h"

namespace pbx {
namespace {

using ::testing::HasSubstr;

class PgApiKeyStoreTest : public testing::SchemaTest {
 protected:
  void SetUp() override {
    SchemaTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = std::make_unique<PgApiKeyStore>(*pool_);
    keys_ = std::make_unique<KeyOperations>(*store_);
  }
  std::unique_ptr<PgApiKeyStore> store_;
  std::unique_ptr<KeyOperations> keys_;
};

TEST_F(PgApiKeyStoreTest, OnlyTheTokensHashIsStored) {
  auto created = keys_->CreateKey("ci-deployer", "operator");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->token, ::testing::StartsWith("pbx_"));
  EXPECT_EQ(created->key.role, Role::kOperator);
  pqxx::connection connection(url());
  const std::string stored = pqxx::nontransaction(connection)
                                 .exec1("SELECT string_agg(t::text, ' ') FROM api_keys t")[0]
                                 .as<std::string>();
  EXPECT_THAT(stored, ::testing::Not(HasSubstr(created->token)));
  EXPECT_THAT(stored, HasSubstr(ApiTokenHash(created->token)));
}

TEST_F(PgApiKeyStoreTest, NamesAreUniqueAmongLiveKeysIgnoringCase) {
  ASSERT_TRUE(keys_->CreateKey("Ops", "viewer").ok());
  auto again = keys_->CreateKey(" ops ", "admin");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  auto keys = keys_->ListKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  ASSERT_TRUE(keys_->RevokeKey((*keys)[0].id).ok());
  EXPECT_TRUE(keys_->CreateKey("ops", "admin").ok()) << "a revoked key's name is free again";
}

TEST_F(PgApiKeyStoreTest, BadNamesRolesAndIdsAreRefusedTogether) {
  auto bad = keys_->CreateKey("", "superuser");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(bad.status())) fields.push_back(v.field);
  EXPECT_THAT(fields, ::testing::ElementsAre("name", "role"));
  EXPECT_EQ(keys_->RevokeKey("not-a-uuid").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_->RevokeKey("00000000-0000-4000-8000-000000000000").code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PgApiKeyStoreTest, TheFirstAdminKeyIsMadeOnceEvenWhenAskedConcurrently) {
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<std::optional<CreatedApiKey>>> results(4, absl::UnknownError(""));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = keys_->CreateFirstAdminKey("admin"); });
  }
  for (std::thread& t : threads) t.join();
  int created = 0;
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    created += result->has_value() ? 1 : 0;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(keys_->ListKeys()->size(), 1u);
}

TEST_F(PgApiKeyStoreTest, TheVerifierKnowsNewKeysAtOnceAndForgetsRevokedOnes) {
  TokenVerifier verifier(*store_, {absl::Milliseconds(100), absl::ZeroDuration(), absl::Minutes(1)});
  verifier.Start();
  auto created = keys_->CreateKey("watcher", "viewer");
  ASSERT_TRUE(created.ok());
  auto principal = verifier.Verify(created->token);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->key_name, "watcher");
  EXPECT_EQ(principal->role, Role::kViewer);
  // Revoked through another process's store: gone within the refresh interval.
  PgApiKeyStore elsewhere(*pool_);
  ASSERT_TRUE(elsewhere.RevokeKey(created->key.id).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (verifier.Verify(created->token).ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(verifier.Verify(created->token).status().code(), absl::StatusCode::kUnauthenticated);
  for (const char* bad : {"", "pbx_", "Bearer x", "pbx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    auto refused = verifier.Verify(bad);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_EQ(refused.status().message(), "missing or invalid API token") << bad;
  }
}

TEST_F(PgApiKeyStoreTest, UseIsRecordedCoarsely) {
  auto created = keys_->CreateKey("used", "viewer");
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE((*keys_->ListKeys())[0].last_used_at.has_value());
  TokenVerifier verifier(*store_, {absl::Milliseconds(50), absl::ZeroDuration(),
                                   absl::Milliseconds(100)});
  verifier.Start();
  ASSERT_TRUE(verifier.Verify(created->token).ok());
  // Written by the running verifier, not only by the flush when it stops.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!(*keys_->ListKeys())[0].last_used_at.has_value() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE((*keys_->ListKeys())[0].last_used_at.has_value());
}

// The real store, counting how often the verifier reads every live key.
class CountingKeyStore : public ApiKeyStore {
 public:
  explicit CountingKeyStore(ApiKeyStore& store) : store_(store) {}
  absl::StatusOr<ApiKeyRecord> CreateKey(absl::string_view name, Role role,
                                         absl::string_view token_hash) override {
    return store_.CreateKey(name, role, token_hash);
  }
  absl::StatusOr<std::optional<ApiKeyRecord>> CreateFirstAdminKey(
      absl::string_view name, absl::string_view token_hash) override {
    return store_.CreateFirstAdminKey(name, token_hash);
  }
  absl::StatusOr<std::vector<ApiKeyRecord>> ListKeys() override { return store_.ListKeys(); }
  absl::Status RevokeKey(absl::string_view id) override { return store_.RevokeKey(id); }
  absl::StatusOr<std::vector<ActiveApiKey>> ActiveKeys() override {
    ++reads;
    return store_.ActiveKeys();
  }
  absl::Status MarkUsed(const std::vector<std::string>& key_ids) override {
    return store_.MarkUsed(key_ids);
  }
  std::atomic<int> reads{0};

 private:
  ApiKeyStore& store_;
};

constexpr char kUnknownToken[] = "pbx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// What the call pipeline uses after the authenticator admitted a call: no
// database read, no wait, no use recorded, whatever the token.
TEST_F(PgApiKeyStoreTest, TheCachedLookupNeverReadsTheDatabaseNorRecordsUse) {
  auto created = keys_->CreateKey("piped", "operator");
  ASSERT_TRUE(created.ok());
  CountingKeyStore counting(*store_);
  {
    TokenVerifier verifier(counting, {absl::Hours(1), absl::ZeroDuration(), absl::Hours(1)});
    verifier.RefreshNow();
    ASSERT_EQ(counting.reads, 1);
    std::optional<Principal> caller = verifier.Cached(created->token);
    ASSERT_TRUE(caller.has_value());
    EXPECT_EQ(caller->key_name, "piped");
    EXPECT_EQ(caller->role, Role::kOperator);
    EXPECT_FALSE(verifier.Cached(kUnknownToken).has_value());
    EXPECT_FALSE(verifier.Cached("Bearer nonsense").has_value());
    EXPECT_EQ(counting.reads, 1) << "a cached lookup read the keys again";
    verifier.Start();  // its stop flushes the keys used (none) to last_used_at
  }
  EXPECT_FALSE((*keys_->ListKeys())[0].last_used_at.has_value());
}

// While the database is down, callers with unknown tokens wait for one
// read that began after they arrived; they do not queue up one read each.
TEST_F(PgApiKeyStoreTest, UnknownTokensShareOneFailedReadWhileTheDatabaseIsDown) {
  PgPool unreachable(PgPoolOptions{"postgresql://postgres@127.0.0.1:1/none", 2, 1});
  PgApiKeyStore down(unreachable);
  CountingKeyStore counting(down);
  TokenVerifier verifier(counting, {absl::Hours(1), absl::Milliseconds(250), absl::Hours(1)});
  constexpr int kCallers = 8;
  std::vector<absl::StatusCode> codes(kCallers);
  absl::Notification go;
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      go.WaitForNotification();
      codes[i] = verifier.Verify(kUnknownToken).status().code();
    });
  }
  go.Notify();
  for (std::thread& caller : callers) caller.join();
  EXPECT_THAT(codes, ::testing::Each(absl::StatusCode::kUnavailable));
  // One read for everyone, perhaps a second for a thread that arrived after
  // the first began; one each (8) would hold every caller 250 ms per caller.
  EXPECT_LE(counting.reads, 2);
}

// A token file still holding the token of a key since revoked makes no key
// (a revoked token stays revoked) and says which file to remove.
TEST_F(PgApiKeyStoreTest, BootstrapWithARevokedKeysTokenSaysWhichFileToRemove) {
  const std::string token_file = ::testing::TempDir() + "/revoked-admin-token";
  std::remove(token_file.c_str());
  auto first = BootstrapAdminKey(*keys_, token_file, "admin");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  ASSERT_TRUE(keys_->RevokeKey((*first)->id).ok());
  auto again = BootstrapAdminKey(*keys_, token_file, "admin");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  EXPECT_THAT(again.status().message(), HasSubstr("revoked"));
  EXPECT_THAT(again.status().message(), HasSubstr(token_file));
  EXPECT_TRUE(keys_->ListKeys()->empty());
  std::remove(token_file.c_str());
}

}  // namespace
}  // namespace pbx
