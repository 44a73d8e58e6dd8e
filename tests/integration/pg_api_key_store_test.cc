// PgApiKeyStore against a real PostgreSQL, through KeyOperations and the
// TokenVerifier that read it.
#include "server/store/pg_api_key_store.h"

#include <thread>

#include <pqxx/pqxx>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/field_violations.h"
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
  {
    TokenVerifier verifier(*store_, {absl::Milliseconds(50), absl::ZeroDuration(),
                                     absl::Milliseconds(100)});
    verifier.Start();
    ASSERT_TRUE(verifier.Verify(created->token).ok());
    absl::SleepFor(absl::Milliseconds(400));
  }
  EXPECT_TRUE((*keys_->ListKeys())[0].last_used_at.has_value());
}

}  // namespace
}  // namespace pbx
