#include "server/store/pg_api_key_store.h"

#include <string>
#include <utility>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/store/advisory_locks.h"

namespace pbx {
namespace {

constexpr absl::string_view kKeyColumns =
    "id::text, name, role, (extract(epoch FROM created_at) * 1000000)::bigint,"
    " (extract(epoch FROM last_used_at) * 1000000)::bigint";

ApiKeyRecord RowToKey(const pqxx::row& row) {
  ApiKeyRecord key;
  key.id = row[0].as<std::string>();
  key.name = row[1].as<std::string>();
  key.role = RoleFromName(row[2].as<std::string>()).value_or(Role::kViewer);
  key.created_at = absl::FromUnixMicros(row[3].as<int64_t>());
  if (!row[4].is_null()) key.last_used_at = absl::FromUnixMicros(row[4].as<int64_t>());
  return key;
}

absl::StatusOr<ApiKeyRecord> Insert(pqxx::work& transaction, absl::string_view name, Role role,
                                    absl::string_view token_hash) {
  try {
    return RowToKey(transaction.exec_params1(
        absl::StrCat("INSERT INTO api_keys (name, role, token_sha256) VALUES ($1, $2, $3)"
                     " RETURNING ",
                     kKeyColumns),
        std::string(name), std::string(RoleName(role)), std::string(token_hash)));
  } catch (const pqxx::unique_violation& e) {
    if (absl::StrContains(e.what(), "api_keys_live_name")) {
      return absl::AlreadyExistsError(absl::StrCat("an API key named ", name, " already exists"));
    }
    // Only a provisioned token (the admin bootstrap's) can meet an old one.
    if (absl::StrContains(e.what(), "api_keys_token_sha256_key")) {
      return absl::FailedPreconditionError("the token belongs to a revoked API key");
    }
    throw;
  }
}

}  // namespace

absl::StatusOr<ApiKeyRecord> PgApiKeyStore::CreateKey(absl::string_view name, Role role,
                                                      absl::string_view token_hash) {
  return pool_.Query<ApiKeyRecord>(
      [&](pqxx::connection& connection) -> absl::StatusOr<ApiKeyRecord> {
        pqxx::work transaction(connection);
        absl::StatusOr<ApiKeyRecord> key = Insert(transaction, name, role, token_hash);
        if (key.ok()) transaction.commit();
        return key;
      });
}

absl::StatusOr<std::optional<ApiKeyRecord>> PgApiKeyStore::CreateFirstAdminKey(
    absl::string_view name, absl::string_view token_hash) {
  using Result = std::optional<ApiKeyRecord>;
  return pool_.Query<Result>([&](pqxx::connection& connection) -> absl::StatusOr<Result> {
    pqxx::work transaction(connection);
    // Two servers bootstrapping at once: the second sees the first's key.
    transaction.exec_params("SELECT pg_advisory_xact_lock($1)", kApiKeyBootstrapLockKey);
    if (transaction
            .exec1("SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = 'admin'"
                   " AND revoked_at IS NULL)")[0]
            .as<bool>()) {
      return Result();
    }
    absl::StatusOr<ApiKeyRecord> key = Insert(transaction, name, Role::kAdmin, token_hash);
    if (!key.ok()) return key.status();
    transaction.commit();
    return Result(std::move(*key));
  });
}

absl::StatusOr<std::vector<ApiKeyRecord>> PgApiKeyStore::ListKeys() {
  using Keys = std::vector<ApiKeyRecord>;
  return pool_.Query<Keys>([](pqxx::connection& connection) -> absl::StatusOr<Keys> {
    pqxx::result result = pqxx::nontransaction(connection).exec(
        absl::StrCat("SELECT ", kKeyColumns,
                     " FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id"));
    Keys keys;
    for (const pqxx::row& row : result) keys.push_back(RowToKey(row));
    return keys;
  });
}

absl::Status PgApiKeyStore::RevokeKey(absl::string_view id) {
  return pool_.Run([&](pqxx::connection& connection) {
    pqxx::work transaction(connection);
    pqxx::result result = transaction.exec_params(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1::uuid AND revoked_at IS NULL",
        std::string(id));
    if (result.affected_rows() == 0) {
      return absl::NotFoundError(absl::StrCat("API key ", id, " not found"));
    }
    transaction.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<ActiveApiKey>> PgApiKeyStore::ActiveKeys() {
  using Keys = std::vector<ActiveApiKey>;
  return pool_.Query<Keys>([](pqxx::connection& connection) -> absl::StatusOr<Keys> {
    pqxx::result result = pqxx::nontransaction(connection).exec(
        "SELECT token_sha256, id::text, name, role FROM api_keys WHERE revoked_at IS NULL");
    Keys keys;
    keys.reserve(result.size());
    for (const pqxx::row& row : result) {
      keys.push_back({row[0].as<std::string>(),
                      {row[1].as<std::string>(), row[2].as<std::string>(),
                       RoleFromName(row[3].as<std::string>()).value_or(Role::kViewer)}});
    }
    return keys;
  });
}

absl::Status PgApiKeyStore::MarkUsed(const std::vector<std::string>& key_ids) {
  if (key_ids.empty()) return absl::OkStatus();
  return pool_.Run([&](pqxx::connection& connection) {
    pqxx::work transaction(connection);
    transaction.exec_params(
        "UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1::uuid[])",
        absl::StrCat("{", absl::StrJoin(key_ids, ","), "}"));
    transaction.commit();
    return absl::OkStatus();
  });
}

}  // namespace pbx
