#ifndef PBX_TESTS_INTEGRATION_DATABASE_FIXTURE_H_
#define PBX_TESTS_INTEGRATION_DATABASE_FIXTURE_H_

#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/store/pg_pool.h"
#include "server/store/secret_box.h"

namespace pbx::testing {

// A fresh, empty database in the PostgreSQL cluster that tests/run starts
// (PBX_TEST_PG_HOST / _PORT / _USER), dropped again on destruction.
class TestDatabase {
 public:
  // nullopt when no test cluster is configured.
  static std::optional<TestDatabase> Create();
  TestDatabase(TestDatabase&& other) noexcept;
  TestDatabase& operator=(TestDatabase&& other) noexcept;
  ~TestDatabase();

  const std::string& url() const { return url_; }

 private:
  TestDatabase(std::string admin_url, std::string name, std::string url);

  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// The one fixture of the integration tests: each test gets a database of its
// own (skipped when tests/run did not export a cluster).
class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override;
  const std::string& url() const { return database_->url(); }

  std::optional<TestDatabase> database_;
};

// A fixed key that seals the tests' SIP secrets.
SecretBox TestSecretBox();

// DatabaseTest with the schema migrated and a pool of `PoolSize()` ready.
class SchemaTest : public DatabaseTest {
 protected:
  void SetUp() override;
  virtual int PoolSize() const { return 8; }

  std::unique_ptr<PgPool> pool_;
  const SecretBox secrets_ = TestSecretBox();
};

}  // namespace pbx::testing

#endif  // PBX_TESTS_INTEGRATION_DATABASE_FIXTURE_H_
