#include "server/store/pg_pool.h"

#include <iterator>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/store/pg_errors.h"

namespace pbx {
namespace {

bool IsUrl(const std::string& conninfo) {
  return absl::StartsWith(conninfo, "postgresql://") ||
         absl::StartsWith(conninfo, "postgres://");
}

// Whether libpq gets a list of servers to try in turn: a URL's host part or
// a key=value string's host, hostaddr or port with commas in it.
bool NamesSeveralServers(const std::string& conninfo) {
  if (IsUrl(conninfo)) {
    absl::string_view authority = conninfo;
    authority.remove_prefix(authority.find("://") + 3);
    authority = authority.substr(0, authority.find_first_of("/?"));
    // Past the user and password, which may hold commas of their own.
    if (size_t at = authority.rfind('@'); at != absl::string_view::npos) {
      authority.remove_prefix(at + 1);
    }
    return absl::StrContains(authority, ',');
  }
  for (absl::string_view word : absl::StrSplit(conninfo, ' ', absl::SkipEmpty())) {
    if ((absl::StartsWith(word, "host=") || absl::StartsWith(word, "hostaddr=") ||
         absl::StartsWith(word, "port=")) &&
        absl::StrContains(word, ',')) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string WithConnectionDefaults(const std::string& database_url,
                                   int connect_timeout_seconds) {
  // Without these, a database host that silently drops packets would hold a
  // request for minutes instead of failing fast with UNAVAILABLE.
  const std::pair<std::string, std::string> defaults[] = {
      {"connect_timeout", absl::StrCat(connect_timeout_seconds)},
      {"tcp_user_timeout", absl::StrCat(connect_timeout_seconds * 1000)},
      {"keepalives_idle", "5"},
      {"keepalives_interval", "2"},
      {"keepalives_count", "2"},
      {"application_name", "pbx-portal"},
  };
  std::vector<std::pair<std::string, std::string>> settings(std::begin(defaults),
                                                            std::end(defaults));
  // Of several servers, only the primary serves the portal, which writes on
  // every create: libpq's own failover. The default (any) would settle on
  // whichever answers first, a standby too, and every write would fail.
  if (NamesSeveralServers(database_url)) {
    settings.emplace_back("target_session_attrs", "read-write");
  }
  std::string result = database_url;
  const bool url = IsUrl(database_url);
  for (const auto& [key, value] : settings) {
    if (absl::StrContains(database_url, key + "=")) continue;
    if (url) {
      absl::StrAppend(&result, absl::StrContains(result, "?") ? "&" : "?", key,
                      "=", value);
    } else {
      absl::StrAppend(&result, " ", key, "=", value);
    }
  }
  return result;
}

PgPool::PgPool(PgPoolOptions options)
    : options_(std::move(options)),
      conninfo_(WithConnectionDefaults(options_.database_url,
                                       options_.connect_timeout_seconds)) {}

PgPool::~PgPool() = default;

absl::StatusOr<std::unique_ptr<pqxx::connection>> PgPool::Connect() const {
  try {
    auto connection = std::make_unique<pqxx::connection>(conninfo_);
    pqxx::nontransaction setup(*connection);
    setup.exec(absl::StrCat("SET statement_timeout = ",
                            options_.statement_timeout_ms));
    return connection;
  } catch (...) {
    return StatusFromDatabaseException(std::current_exception());
  }
}

bool PgPool::CanAcquire() const {
  return !idle_.empty() || open_ < options_.size;
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> PgPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!CanAcquire()) {
      ++acquire_waits_;
      const absl::Time wait_start = absl::Now();
      const bool freed = mu_.AwaitWithTimeout(absl::Condition(this, &PgPool::CanAcquire),
                                              options_.acquire_timeout);
      acquire_wait_time_ += absl::Now() - wait_start;
      if (!freed) {
        ++acquire_timeouts_;
        return absl::UnavailableError("database busy: no free connection");
      }
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_;  // reserve the slot before connecting outside the lock
  }
  auto connection = Connect();
  if (!connection.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  return connection;
}

PgPoolStats PgPool::stats() const {
  absl::MutexLock lock(&mu_);
  const int idle = static_cast<int>(idle_.size());
  return {open_ - idle, idle, options_.size, acquire_waits_, acquire_wait_time_,
          acquire_timeouts_};
}

void PgPool::Release(std::unique_ptr<pqxx::connection> connection) {
  absl::MutexLock lock(&mu_);
  if (connection != nullptr && connection->is_open()) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;
  }
}

void PgPool::DropIdleConnections() {
  absl::MutexLock lock(&mu_);
  open_ -= static_cast<int>(idle_.size());
  idle_.clear();
}

absl::Status PgPool::Run(
    const std::function<absl::Status(pqxx::connection&)>& work) {
  if (!schema_ready()) return DatabaseUnavailableError();
  for (int attempt = 0;; ++attempt) {
    auto connection = Acquire();
    if (!connection.ok()) return connection.status();
    absl::Status status;
    bool broken = false;     // nothing reached a commit (see in_doubt_error)
    bool read_only = false;  // the server wrote nothing
    try {
      status = work(**connection);
    } catch (const pqxx::broken_connection&) {
      broken = true;
      status = StatusFromDatabaseException(std::current_exception());
    } catch (const pqxx::sql_error& e) {
      read_only = IsReadOnlyServer(e.sqlstate());
      status = StatusFromDatabaseException(std::current_exception());
    } catch (...) {
      status = StatusFromDatabaseException(std::current_exception());
    }
    if (broken || read_only) {
      // One broken connection usually means the server restarted, and one
      // that finds its server read-only that it is a standby now (a
      // failover): either way every idle connection is stale too. Fresh ones
      // find the new primary when the URL names several servers. The work is
      // retried once, as none of it was written. A break during COMMIT is
      // pqxx::in_doubt_error, never retried: the client sees UNAVAILABLE and
      // retries with its request_id.
      Release(nullptr);
      DropIdleConnections();
      if (attempt == 0) continue;
      return status;
    }
    Release(std::move(*connection));
    return status;
  }
}

}  // namespace pbx
