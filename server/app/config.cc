#include "server/app/config.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pbx {
namespace {

constexpr char kDefaultDatabaseUrl[] = "postgresql://pbx@127.0.0.1:5433/pbx";

// Reads an integer variable within [min, max] into `out`, or records why not.
void ReadInt(const EnvLookup& env, absl::string_view name, int min, int max,
             int& out, std::vector<std::string>& problems) {
  std::optional<std::string> value = env(name);
  if (!value || value->empty()) return;
  int parsed;
  if (!absl::SimpleAtoi(*value, &parsed) || parsed < min || parsed > max) {
    problems.push_back(
        absl::StrCat(name, " must be an integer in [", min, ", ", max, "]"));
    return;
  }
  out = parsed;
}

}  // namespace

std::optional<std::string> ProcessEnv(absl::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

absl::StatusOr<ServerConfig> LoadServerConfig(const EnvLookup& env) {
  ServerConfig config;
  config.database.database_url = kDefaultDatabaseUrl;
  if (auto value = env("PBX_GRPC_LISTEN"); value && !value->empty()) {
    config.grpc_listen = *value;
  }
  if (auto value = env("PBX_DATABASE_URL"); value && !value->empty()) {
    config.database.database_url = *value;
  }
  std::vector<std::string> problems;
  ReadInt(env, "PBX_DB_POOL_SIZE", 1, 256, config.database.size, problems);
  ReadInt(env, "PBX_DB_CONNECT_TIMEOUT_S", 1, 60,
          config.database.connect_timeout_seconds, problems);
  ReadInt(env, "PBX_DB_STATEMENT_TIMEOUT_MS", 100, 600000,
          config.database.statement_timeout_ms, problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid configuration: ", absl::StrJoin(problems, "; ")));
  }
  return config;
}

}  // namespace pbx
