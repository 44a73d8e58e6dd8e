#include "server/store/pg_user_store.h"

#include <string>
#include <utility>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/extension_pool.h"
#include "server/core/sip_secret.h"
#include "server/store/advisory_locks.h"
#include "server/store/json_columns.h"
#include "server/store/sip_secret_sealing.h"

namespace pbx {
namespace {

// The columns every user query returns, in the order RowToUser reads them.
constexpr absl::string_view kUserColumns =
    "u.id::text, u.tenant_id::text, u.name, u.email, u.metadata::text, "
    "e.number, (extract(epoch FROM u.created_at) * 1000000)::bigint, "
    "(extract(epoch FROM e.allocated_at) * 1000000)::bigint";

UserRecord RowToUser(const pqxx::row& row) {
  UserRecord user;
  user.id = row[0].as<std::string>();
  user.tenant_id = row[1].as<std::string>();
  user.name = row[2].as<std::string>();
  user.email = row[3].as<std::string>();
  user.metadata = MetadataFromJson(row[4].as<std::string>());
  user.extension = row[5].as<int>();
  user.created_at = absl::FromUnixMicros(row[6].as<int64_t>());
  user.extension_allocated_at = absl::FromUnixMicros(row[7].as<int64_t>());
  return user;
}

SipCredentials MakeCredentials(const std::string& user_id, int extension,
                               std::string secret) {
  return {user_id, extension, absl::StrCat(extension), std::move(secret)};
}

absl::Status UserNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("user ", id, " not found"));
}

}  // namespace

absl::StatusOr<CreatedUser> PgUserStore::CreateUser(const NewUser& user,
                                                    const std::string& sip_secret) {
  // The id is made here, not by the database, so the sealed secret can be
  // bound to it in the same statement.
  const std::string id = NewUuidV4();
  return pool_.Query<CreatedUser>(
      [&](pqxx::connection& connection) -> absl::StatusOr<CreatedUser> {
        pqxx::work transaction(connection);
        // Allocations queue on one lock so the gap search below always sees
        // the previous allocation committed: the lowest free number, never a
        // duplicate (the primary key on number stays the backstop).
        transaction.exec_params("SELECT pg_advisory_xact_lock($1)",
                                kExtensionAllocationLockKey);
        pqxx::result result;
        try {
          result = transaction.exec_params(
              absl::StrCat(
                  "WITH free AS ("
                  "  SELECT n FROM generate_series($1::int, $2::int) AS n"
                  "  WHERE NOT EXISTS (SELECT 1 FROM extensions WHERE number = n)"
                  "  ORDER BY n LIMIT 1),"
                  " u AS ("
                  "  INSERT INTO users (id, tenant_id, name, email, metadata)"
                  "  SELECT $7::uuid, (SELECT id FROM tenants), $3, $4, $5::jsonb FROM free"
                  "  RETURNING *),"
                  " e AS ("
                  "  INSERT INTO extensions (number, user_id, sip_secret_sealed)"
                  "  SELECT free.n, u.id, $6 FROM free, u"
                  "  RETURNING *)"
                  " SELECT ", kUserColumns, " FROM u JOIN e ON e.user_id = u.id"),
              kFirstExtension, kLastExtension, user.name, user.email,
              MetadataToJson(user.metadata), secrets_.Seal(sip_secret, SipSecretContext(id)),
              id);
        } catch (const pqxx::unique_violation& e) {
          if (!absl::StrContains(e.what(), "users_tenant_email_key")) throw;
          return absl::AlreadyExistsError(
              absl::StrCat("a user with email ", user.email, " already exists"));
        }
        if (result.empty()) return ExtensionPoolExhaustedError();
        transaction.commit();
        UserRecord record = RowToUser(result[0]);
        SipCredentials credentials =
            MakeCredentials(record.id, record.extension, sip_secret);
        return CreatedUser{std::move(record), std::move(credentials)};
      });
}

absl::StatusOr<UserRecord> PgUserStore::GetUser(absl::string_view id) {
  return pool_.Query<UserRecord>(
      [&](pqxx::connection& connection) -> absl::StatusOr<UserRecord> {
        pqxx::result result = pqxx::nontransaction(connection).exec_params(
            absl::StrCat("SELECT ", kUserColumns,
                         " FROM users u JOIN extensions e ON e.user_id = u.id"
                         " WHERE u.id = $1::uuid"),
            std::string(id));
        if (result.empty()) return UserNotFound(id);
        return RowToUser(result[0]);
      });
}

absl::StatusOr<std::vector<UserRecord>> PgUserStore::ListUsers() {
  return pool_.Query<std::vector<UserRecord>>(
      [&](pqxx::connection& connection) -> absl::StatusOr<std::vector<UserRecord>> {
        pqxx::result result = pqxx::nontransaction(connection).exec(
            absl::StrCat("SELECT ", kUserColumns,
                         " FROM users u JOIN extensions e ON e.user_id = u.id"
                         " ORDER BY e.number"));
        std::vector<UserRecord> users;
        users.reserve(result.size());
        for (const auto& row : result) users.push_back(RowToUser(row));
        return users;
      });
}

absl::Status PgUserStore::DeleteUser(absl::string_view id) {
  return pool_.Run([&](pqxx::connection& connection) {
    pqxx::work transaction(connection);
    pqxx::result result = transaction.exec_params(
        "DELETE FROM users WHERE id = $1::uuid", std::string(id));
    if (result.affected_rows() == 0) return UserNotFound(id);
    transaction.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<SipCredentials> PgUserStore::GetSipCredentials(absl::string_view id) {
  return pool_.Query<SipCredentials>(
      [&](pqxx::connection& connection) -> absl::StatusOr<SipCredentials> {
        pqxx::result result = pqxx::nontransaction(connection).exec_params(
            "SELECT number, sip_secret_sealed FROM extensions WHERE user_id = $1::uuid",
            std::string(id));
        if (result.empty()) return UserNotFound(id);
        absl::StatusOr<std::string> secret =
            OpenSipSecret(secrets_, id, result[0][1].as<std::string>());
        if (!secret.ok()) return secret.status();
        return MakeCredentials(std::string(id), result[0][0].as<int>(), std::move(*secret));
      });
}

absl::StatusOr<std::vector<ProvisionedExtension>> PgUserStore::ReadProvisioning() {
  using Extensions = std::vector<ProvisionedExtension>;
  return pool_.Query<Extensions>([&](pqxx::connection& connection) -> absl::StatusOr<Extensions> {
    pqxx::result result = pqxx::nontransaction(connection).exec(
        "SELECT number, user_id::text, sip_secret_sealed FROM extensions ORDER BY number");
    Extensions extensions;
    extensions.reserve(result.size());
    for (const auto& row : result) {
      absl::StatusOr<std::string> secret =
          OpenSipSecret(secrets_, row[1].as<std::string>(), row[2].as<std::string>());
      if (!secret.ok()) return secret.status();
      extensions.push_back({row[0].as<int>(), std::move(*secret)});
    }
    return extensions;
  });
}

absl::StatusOr<int> PgUserStore::CountExtensions() {
  return pool_.Query<int>([](pqxx::connection& connection) -> absl::StatusOr<int> {
    return pqxx::nontransaction(connection)
        .exec1("SELECT count(*) FROM extensions")[0]
        .as<int>();
  });
}

}  // namespace pbx
