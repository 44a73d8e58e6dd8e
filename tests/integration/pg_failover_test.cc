// What the pool and the health probe do when a database server stops taking
// writes or goes away, as in a failover, against a real PostgreSQL. A standby
// is played by the test database with default_transaction_read_only on: to
// the portal it answers exactly like one (SQLSTATE 25006 on every write).
// The failover itself, with a real standby promoted, is
// tests/e2e/test_pg_failover.py.
#include <atomic>
#include <string>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/app/database_supervisor.h"
#include "server/store/migrations.h"
#include "server/store/pg_pool.h"
#include "tests/integration/database_fixture.h"

namespace pbx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(WithConnectionDefaults, AsksForTheWritableServerWhenSeveralAreNamed) {
  EXPECT_THAT(WithConnectionDefaults("postgresql://u@a:1,b:2/db", 2),
              HasSubstr("&target_session_attrs=read-write"));
  EXPECT_THAT(WithConnectionDefaults("host=a,b port=1,2 dbname=db", 2),
              HasSubstr(" target_session_attrs=read-write"));
  EXPECT_THAT(WithConnectionDefaults("host=a port=1,2 dbname=db", 2),
              HasSubstr(" target_session_attrs=read-write"));
  // One server: nothing to choose from. A comma in the password is no list.
  EXPECT_THAT(WithConnectionDefaults("postgresql://u@a/db", 2), Not(HasSubstr("target_session")));
  EXPECT_THAT(WithConnectionDefaults("postgresql://u:p,w@a/db?x=1", 2),
              Not(HasSubstr("target_session")));
  EXPECT_THAT(WithConnectionDefaults("host=a dbname=db", 2), Not(HasSubstr("target_session")));
  // The operator's choice stands.
  EXPECT_THAT(WithConnectionDefaults("postgresql://u@a,b/db?target_session_attrs=primary", 2),
              Not(HasSubstr("read-write")));
}

class PgFailoverTest : public testing::DatabaseTest {
 protected:
  // Sessions opened from now on take no writes (or do again).
  void SetReadOnly(bool read_only) {
    pqxx::connection connection(url());
    pqxx::nontransaction(connection).exec("SET default_transaction_read_only = off");
    pqxx::nontransaction(connection)
        .exec(absl::StrCat("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I ",
                           read_only ? "SET default_transaction_read_only = on"
                                     : "RESET default_transaction_read_only",
                           "', current_database()); END $$"));
  }

  static absl::Status CreateTable(pqxx::connection& connection, const std::string& name) {
    pqxx::work work(connection);
    work.exec(absl::StrCat("CREATE TABLE ", name, " (i int)"));
    work.commit();
    return absl::OkStatus();
  }
};

TEST_F(PgFailoverTest, AReadOnlyServerIsUnavailableAndItsConnectionsAreDropped) {
  PgPool pool(PgPoolOptions{url(), 2});
  pool.MarkSchemaReady();
  SetReadOnly(true);
  int attempts = 0;
  absl::Status status = pool.Run([&](pqxx::connection& connection) {
    ++attempts;
    return CreateTable(connection, "never_written");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(attempts, 2) << "retried once on a fresh connection";
  const PgPoolStats stats = pool.stats();
  EXPECT_EQ(stats.idle, 0) << "a connection to a read-only server was kept";
  EXPECT_EQ(stats.in_use, 0);
}

TEST_F(PgFailoverTest, AConnectionLeftOnAServerTurnedReadOnlyIsReplacedAndTheWorkRetried) {
  PgPool pool(PgPoolOptions{url(), 1});
  pool.MarkSchemaReady();
  SetReadOnly(true);
  ASSERT_TRUE(pool.Run([](pqxx::connection&) { return absl::OkStatus(); }).ok());
  ASSERT_EQ(pool.stats().idle, 1);  // a read-only session, idle in the pool
  SetReadOnly(false);               // what a fresh connection finds: a primary
  int attempts = 0;
  absl::Status status = pool.Run([&](pqxx::connection& connection) {
    ++attempts;
    return CreateTable(connection, "written_on_the_primary");
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 2);
  pqxx::connection check(url());
  EXPECT_EQ(pqxx::nontransaction(check)
                .exec("SELECT count(*) FROM pg_tables WHERE tablename = 'written_on_the_primary'")[0][0]
                .as<int>(),
            1);
}

TEST_F(PgFailoverTest, ASessionTheServerEndsIsUnavailableAndItsConnectionDropped) {
  PgPool pool(PgPoolOptions{url(), 2});
  pool.MarkSchemaReady();
  int attempts = 0;
  // 57P01 admin_shutdown, what every session gets when its server shuts
  // down (libpqxx reports it as a broken connection).
  absl::Status status = pool.Run([&](pqxx::connection& connection) {
    ++attempts;
    pqxx::nontransaction(connection).exec("SELECT pg_terminate_backend(pg_backend_pid())");
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(pool.stats().idle, 0);
  EXPECT_EQ(pool.stats().in_use, 0);
}

TEST_F(PgFailoverTest, TheHealthProbeCallsAReadOnlyServerUnavailable) {
  PgPool pool(PgPoolOptions{url(), 1});
  DatabaseSupervisor supervisor(pool, nullptr, absl::Seconds(1), nullptr, nullptr);
  ASSERT_TRUE(supervisor.CheckNow().ok());  // migrates, probes a primary
  SetReadOnly(true);
  // The probe's session still writes; a new one (after a failover) would not.
  pqxx::connection admin(url());
  pqxx::nontransaction(admin).exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
      " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  EXPECT_FALSE(supervisor.CheckNow().ok());  // the old probe connection is gone
  EXPECT_EQ(supervisor.CheckNow().code(), absl::StatusCode::kUnavailable)
      << "a read-only server reported healthy";
  SetReadOnly(false);
  EXPECT_TRUE(supervisor.CheckNow().ok());
}

}  // namespace
}  // namespace pbx
