#include "server/app/config.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(LoadServerConfig, DefaultsPointAtTheLocalSetup) {
  auto config = LoadServerConfig(FakeEnv({}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->grpc_listen, "127.0.0.1:50051");
  EXPECT_EQ(config->database.database_url, "postgresql://pbx@127.0.0.1:5433/pbx");
  EXPECT_EQ(config->database.size, 8);
}

TEST(LoadServerConfig, ReadsOverrides) {
  auto config = LoadServerConfig(FakeEnv({{"PBX_GRPC_LISTEN", "127.0.0.1:0"},
                                          {"PBX_DATABASE_URL", "host=/tmp dbname=x"},
                                          {"PBX_DB_POOL_SIZE", "3"},
                                          {"PBX_DB_CONNECT_TIMEOUT_S", "4"},
                                          {"PBX_DB_STATEMENT_TIMEOUT_MS", "1500"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->grpc_listen, "127.0.0.1:0");
  EXPECT_EQ(config->database.database_url, "host=/tmp dbname=x");
  EXPECT_EQ(config->database.size, 3);
  EXPECT_EQ(config->database.connect_timeout_seconds, 4);
  EXPECT_EQ(config->database.statement_timeout_ms, 1500);
}

TEST(LoadServerConfig, AsteriskSessionReuse) {
  auto defaults = LoadServerConfig(FakeEnv({}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->asterisk_session_idle, absl::Minutes(5));
  auto off = LoadServerConfig(FakeEnv({{"PBX_ASTERISK_SESSION_IDLE_S", "0"}}));
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->asterisk_session_idle, absl::ZeroDuration());
  auto bad = LoadServerConfig(FakeEnv({{"PBX_ASTERISK_SESSION_IDLE_S", "-1"}}));
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("PBX_ASTERISK_SESSION_IDLE_S"));
}

TEST(LoadServerConfig, NamesEveryMalformedVariable) {
  auto config = LoadServerConfig(
      FakeEnv({{"PBX_DB_POOL_SIZE", "many"}, {"PBX_DB_CONNECT_TIMEOUT_S", "0"}}));
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), ::testing::HasSubstr("PBX_DB_POOL_SIZE"));
  EXPECT_THAT(config.status().message(), ::testing::HasSubstr("PBX_DB_CONNECT_TIMEOUT_S"));
}

TEST(LoadServerConfig, MetricsListenDefaultsToLoopbackAndCanBeTurnedOff) {
  EXPECT_EQ(LoadServerConfig(FakeEnv({}))->metrics_listen, "127.0.0.1:9464");
  EXPECT_EQ(LoadServerConfig(FakeEnv({{"PBX_METRICS_LISTEN", "0.0.0.0:9100"}}))->metrics_listen,
            "0.0.0.0:9100");
  EXPECT_EQ(LoadServerConfig(FakeEnv({{"PBX_METRICS_LISTEN", ""}}))->metrics_listen, "");
  EXPECT_EQ(LoadServerConfig(FakeEnv({{"PBX_METRICS_LISTEN", "off"}}))->metrics_listen, "");
  for (const char* bad : {"9464", ":9464", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"}) {
    auto config = LoadServerConfig(FakeEnv({{"PBX_METRICS_LISTEN", bad}}));
    ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(config.status().message(), ::testing::HasSubstr("PBX_METRICS_LISTEN")) << bad;
  }
}

TEST(WithConnectionDefaults, AddsTimeoutsWithoutOverridingTheOperator) {
  EXPECT_EQ(WithConnectionDefaults("postgresql://u@h/db", 2),
            "postgresql://u@h/db?connect_timeout=2&tcp_user_timeout=2000&keepalives_idle=5"
            "&keepalives_interval=2&keepalives_count=2&application_name=pbx-portal");
  EXPECT_THAT(WithConnectionDefaults("postgresql://u@h/db?connect_timeout=9", 2),
              ::testing::StartsWith("postgresql://u@h/db?connect_timeout=9&tcp_user_timeout="));
  EXPECT_THAT(WithConnectionDefaults("host=h dbname=db", 3),
              ::testing::StartsWith("host=h dbname=db connect_timeout=3 "));
}

}  // namespace
}  // namespace pbx
