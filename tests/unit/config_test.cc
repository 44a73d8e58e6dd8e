#include "server/app/config.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
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

TEST(LoadServerConfig, DriftCheckIntervalDefaultsToAMinuteAndZeroTurnsItOff) {
  EXPECT_EQ(LoadServerConfig(FakeEnv({}))->drift_check_interval, absl::Seconds(60));
  EXPECT_EQ(LoadServerConfig(FakeEnv({{"PBX_DRIFT_CHECK_INTERVAL_S", "5"}}))->drift_check_interval,
            absl::Seconds(5));
  EXPECT_EQ(LoadServerConfig(FakeEnv({{"PBX_DRIFT_CHECK_INTERVAL_S", "0"}}))->drift_check_interval,
            absl::ZeroDuration());
  for (const char* bad : {"-1", "86401", "often"}) {
    auto config = LoadServerConfig(FakeEnv({{"PBX_DRIFT_CHECK_INTERVAL_S", bad}}));
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_THAT(std::string(config.status().message()), ::testing::HasSubstr("PBX_DRIFT_CHECK_INTERVAL_S"));
  }
}

TEST(LoadServerConfig, ShutdownDrainDefaultsToASecond) {
  EXPECT_EQ(LoadServerConfig(FakeEnv({}))->shutdown_drain, absl::Seconds(1));
  EXPECT_EQ(LoadServerConfig(FakeEnv({{"PBX_SHUTDOWN_DRAIN_MS", "250"}}))->shutdown_drain,
            absl::Milliseconds(250));
  EXPECT_EQ(LoadServerConfig(FakeEnv({{"PBX_SHUTDOWN_DRAIN_MS", "0"}}))->shutdown_drain,
            absl::ZeroDuration());
  for (const char* bad : {"-1", "60001", "soon"}) {
    auto config = LoadServerConfig(FakeEnv({{"PBX_SHUTDOWN_DRAIN_MS", bad}}));
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_THAT(std::string(config.status().message()), ::testing::HasSubstr("PBX_SHUTDOWN_DRAIN_MS"));
  }
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

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char pattern[] = "/tmp/pbx-config-test.XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/endpoint-profile";
    std::ofstream(path_) << content;
  }
  ~TempFile() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string path_;
};

TEST(LoadServerConfig, EndpointProfileDefaultsWithoutAFile) {
  for (auto env : {FakeEnv({}), FakeEnv({{"PBX_ENDPOINT_PROFILE_FILE", ""}})}) {
    auto config = LoadServerConfig(env);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->apply.endpoint_profile, DefaultEndpointProfile());
  }
}

TEST(LoadServerConfig, ReadsTheEndpointProfileFile) {
  TempFile file("# NAT\nrtp_symmetric = yes\nqualify_frequency = 30\n");
  auto config = LoadServerConfig(FakeEnv({{"PBX_ENDPOINT_PROFILE_FILE", file.path()}}));
  ASSERT_TRUE(config.ok()) << config.status();
  auto want = ParseEndpointProfile("rtp_symmetric = yes\nqualify_frequency = 30\n");
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(config->apply.endpoint_profile, *want);
  EXPECT_NE(config->apply.endpoint_profile, DefaultEndpointProfile());
}

TEST(LoadServerConfig, ABadEndpointProfileNamesTheFileLineAndOption) {
  TempFile file("rtp_symmetric = yes\n\nforce_rport = sometimes\n");
  auto config = LoadServerConfig(FakeEnv({{"PBX_ENDPOINT_PROFILE_FILE", file.path()},
                                          {"PBX_DB_POOL_SIZE", "many"}}));
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              ::testing::HasSubstr("PBX_ENDPOINT_PROFILE_FILE " + file.path() +
                                   ": line 3: force_rport: \"sometimes\" is not yes or no"));
  // Alongside the other malformed variables.
  EXPECT_THAT(config.status().message(), ::testing::HasSubstr("PBX_DB_POOL_SIZE"));
}

TEST(LoadServerConfig, AnUnreadableEndpointProfileFileIsRefused) {
  TempFile file("");
  for (const std::string& path : {file.path() + ".missing", file.dir()}) {
    auto config = LoadServerConfig(FakeEnv({{"PBX_ENDPOINT_PROFILE_FILE", path}}));
    ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(config.status().message(),
                ::testing::HasSubstr("PBX_ENDPOINT_PROFILE_FILE " + path + ": "))
        << path;
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

TEST(LoadServerConfig, TheSingleHostVariablesAreAListOfOne) {
  auto config = LoadServerConfig(FakeEnv({{"PBX_ASTERISK_SSH_HOST", "10.9.9.9"},
                                          {"PBX_ASTERISK_SSH_PORT", "2200"},
                                          {"PBX_ASTERISK_SSH_USER", "portal"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->asterisk_hosts.size(), 1u);
  EXPECT_EQ(config->asterisk_hosts[0].name, "asterisk");
  EXPECT_EQ(config->asterisk_hosts[0].ssh.host, "10.9.9.9");
  EXPECT_EQ(config->asterisk_hosts[0].ssh.port, 2200);
  EXPECT_EQ(config->asterisk_hosts[0].ssh.user, "portal");
}

TEST(LoadServerConfig, SeveralHostsEachOverTheSharedSettings) {
  auto config = LoadServerConfig(
      FakeEnv({{"PBX_ASTERISK_HOSTS", "pbx-a=127.0.0.1:2223, pbx-b=[::1]:2233,c=pbx-c.internal"},
               {"PBX_ASTERISK_SSH_PORT", "2222"},
               {"PBX_ASTERISK_SSH_USER", "portal"},
               {"PBX_ASTERISK_SSH_KEY", "/keys/shared"},
               {"PBX_ASTERISK_SSH_KNOWN_HOSTS", "/keys/known_hosts"},
               {"PBX_ASTERISK_CONNECT_TIMEOUT_S", "3"},
               {"PBX_ASTERISK_PBX_B_SSH_KEY", "/keys/b"},
               {"PBX_ASTERISK_PBX_B_SSH_KNOWN_HOSTS", "/keys/b_known_hosts"},
               {"PBX_ASTERISK_C_SSH_USER", "admin"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->asterisk_hosts.size(), 3u);
  const AsteriskHostConfig& a = config->asterisk_hosts[0];
  const AsteriskHostConfig& b = config->asterisk_hosts[1];
  const AsteriskHostConfig& c = config->asterisk_hosts[2];
  EXPECT_EQ(a.name, "pbx-a");
  EXPECT_EQ(a.ssh.host, "127.0.0.1");
  EXPECT_EQ(a.ssh.port, 2223);
  EXPECT_EQ(a.ssh.user, "portal");
  EXPECT_EQ(a.ssh.private_key_path, "/keys/shared");
  EXPECT_EQ(a.ssh.known_hosts_path, "/keys/known_hosts");
  EXPECT_EQ(a.ssh.connect_timeout, absl::Seconds(3));
  EXPECT_EQ(b.ssh.host, "::1");
  EXPECT_EQ(b.ssh.port, 2233);
  EXPECT_EQ(b.ssh.private_key_path, "/keys/b");
  EXPECT_EQ(b.ssh.known_hosts_path, "/keys/b_known_hosts");
  EXPECT_EQ(b.ssh.user, "portal");
  EXPECT_EQ(c.ssh.host, "pbx-c.internal");
  EXPECT_EQ(c.ssh.port, 2222) << "no port: the shared one";
  EXPECT_EQ(c.ssh.user, "admin");
}

TEST(LoadServerConfig, RefusesAHostListItCannotTrust) {
  for (const char* bad : {"a", "=127.0.0.1", "A=127.0.0.1", "1a=127.0.0.1", "a=", "a=:22",
                          "a=127.0.0.1:0", "a=127.0.0.1:x", "a=::1", "a=[::1",
                          "a=127.0.0.1,a=127.0.0.2", "a=127.0.0.1:22,b=127.0.0.1:22",
                          "a_b=127.0.0.1", "abcdefghijklmnopqrstuvwxyz0123456=h"}) {
    auto config = LoadServerConfig(FakeEnv({{"PBX_ASTERISK_HOSTS", bad}}));
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), ::testing::HasSubstr("PBX_ASTERISK_HOSTS")) << bad;
  }
  auto local = LoadServerConfig(FakeEnv({{"PBX_ASTERISK_TRANSPORT", "local"},
                                         {"PBX_ASTERISK_HOSTS", "a=h1,b=h2"}}));
  EXPECT_FALSE(local.ok());
}

}  // namespace
}  // namespace pbx
