#include "tests/integration/database_fixture.h"

#include <atomic>
#include <unistd.h>

#include <cstdlib>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "server/store/migrations.h"

namespace pbx::testing {
namespace {

std::string Env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

std::optional<TestDatabase> TestDatabase::Create() {
  const std::string port = Env("PBX_TEST_PG_PORT", "");
  if (port.empty()) return std::nullopt;
  const std::string base = absl::StrCat("postgresql://", Env("PBX_TEST_PG_USER", "postgres"),
                                        "@", Env("PBX_TEST_PG_HOST", "127.0.0.1"), ":", port);
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat("pbx_unit_", getpid(), "_", counter++);
  const std::string admin_url = base + "/postgres";
  pqxx::connection admin(admin_url);
  pqxx::nontransaction(admin).exec(absl::StrCat("CREATE DATABASE ", name));
  return TestDatabase(admin_url, name, absl::StrCat(base, "/", name));
}

TestDatabase::TestDatabase(std::string admin_url, std::string name, std::string url)
    : admin_url_(std::move(admin_url)), name_(std::move(name)), url_(std::move(url)) {}

TestDatabase::TestDatabase(TestDatabase&& other) noexcept
    : admin_url_(std::move(other.admin_url_)),
      name_(std::move(other.name_)),
      url_(std::move(other.url_)) {
  other.name_.clear();
}

TestDatabase& TestDatabase::operator=(TestDatabase&& other) noexcept {
  std::swap(admin_url_, other.admin_url_);
  std::swap(name_, other.name_);
  std::swap(url_, other.url_);
  return *this;
}

TestDatabase::~TestDatabase() {
  if (name_.empty()) return;
  try {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction(admin).exec(
        absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  } catch (...) {
    // A leftover database in a throwaway test cluster is harmless.
  }
}

SecretBox TestSecretBox() { return *SecretBox::FromKeys(std::string(32, 'k')); }

void DatabaseTest::SetUp() {
  database_ = TestDatabase::Create();
  if (!database_) GTEST_SKIP() << "PBX_TEST_PG_PORT not set; run tests/run";
}

void SchemaTest::SetUp() {
  DatabaseTest::SetUp();
  if (IsSkipped()) return;
  pool_ = std::make_unique<PgPool>(PgPoolOptions{url(), PoolSize()});
  absl::StatusOr<std::unique_ptr<pqxx::connection>> connection = pool_->Connect();
  ASSERT_TRUE(connection.ok()) << connection.status();
  absl::Status migrated = ApplyMigrations(**connection, EmbeddedMigrations());
  ASSERT_TRUE(migrated.ok()) << migrated;
  pool_->MarkSchemaReady();
}

}  // namespace pbx::testing
