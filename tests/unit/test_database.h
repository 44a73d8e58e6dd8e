#ifndef PBX_TESTS_UNIT_TEST_DATABASE_H_
#define PBX_TESTS_UNIT_TEST_DATABASE_H_

#include <optional>
#include <string>

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

}  // namespace pbx::testing

#endif  // PBX_TESTS_UNIT_TEST_DATABASE_H_
