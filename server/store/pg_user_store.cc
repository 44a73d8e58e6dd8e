#include "server/store/pg_user_store.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/core/extension_pool.h"
#include "server/core/sip_secret.h"
#include "server/store/advisory_locks.h"
#include "server/store/json_columns.h"
#include "server/store/pg_change_events.h"
#include "server/store/pg_create_requests.h"
#include "server/store/sip_secret_sealing.h"

namespace pbx {
namespace {

// The columns every user query returns, in the order RowToUser reads them.
constexpr int kUserColumnCount = 8;
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

absl::Status EmailTakenError(absl::string_view email) {
  return absl::AlreadyExistsError(absl::StrCat("a user with email ", email, " already exists"));
}

// ALREADY_EXISTS naming every user of `users` whose email is in `taken`
// (lower-cased), by its index in a batch; OK when none is.
absl::Status EmailsTakenError(const std::vector<NewUser>& users,
                              const std::set<std::string>& taken, bool batch) {
  if (taken.empty()) return absl::OkStatus();
  if (!batch) return EmailTakenError(users[0].email);
  std::vector<std::string> named;
  for (size_t i = 0; i < users.size(); ++i) {
    if (taken.count(absl::AsciiStrToLower(users[i].email)) > 0) {
      named.push_back(absl::StrCat("requests[", i, "].email (", users[i].email, ")"));
    }
  }
  return absl::AlreadyExistsError(
      absl::StrCat("emails already taken by other users: ", absl::StrJoin(named, ", "),
                   "; nothing was created"));
}

}  // namespace

absl::StatusOr<std::vector<CreatedUser>> PgUserStore::CreateUsers(
    const std::vector<NewUser>& users, const std::vector<std::string>& sip_secrets,
    const CreateOptions& options) {
  using Created = std::vector<CreatedUser>;
  return pool_.Query<Created>([&](pqxx::connection& connection) -> absl::StatusOr<Created> {
    pqxx::work transaction(connection);
    if (options.key.has_value()) {
      absl::StatusOr<std::optional<std::vector<std::string>>> earlier =
          ClaimRequestId(transaction, *options.key, options.actor.key_id);
      if (!earlier.ok()) return earlier.status();
      if (earlier->has_value()) {
        absl::StatusOr<Created> again = ReadCreatedUsers(transaction, **earlier);
        if (absl::IsNotFound(again.status())) return RequestIdResultGoneError(*options.key);
        if (!again.ok()) return again.status();
        // The answer holds the SIP passwords again: a read like any other.
        for (const CreatedUser& user : *again) {
          AppendChangeEvent(transaction, options.actor, kActionReadCredentials, user.user.id,
                            user.user.extension, {});
        }
        transaction.commit();
        return again;
      }
    }
    // Allocations queue on one lock so the gap search below always sees the
    // previous allocation committed: the lowest free numbers, never a
    // duplicate (the primary key on number stays the backstop).
    transaction.exec_params("SELECT pg_advisory_xact_lock($1)", kExtensionAllocationLockKey);
    nlohmann::json emails = nlohmann::json::array();
    for (const NewUser& user : users) emails.push_back(user.email);
    pqxx::row found = transaction.exec_params1(
        "SELECT (SELECT coalesce(array_to_json(array_agg(lower(email))), '[]')::text FROM users"
        "         WHERE tenant_id = (SELECT id FROM tenants) AND lower(email) IN"
        "           (SELECT lower(value) FROM jsonb_array_elements_text($1::jsonb))),"
        "       (SELECT coalesce(array_to_json(array_agg(n ORDER BY n)), '[]')::text FROM"
        "         (SELECT n FROM generate_series($2::int, $3::int) AS n"
        "          WHERE NOT EXISTS (SELECT 1 FROM extensions WHERE number = n)"
        "          ORDER BY n LIMIT $4) AS free)",
        emails.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kFirstExtension,
        kLastExtension, static_cast<int>(users.size()));
    const bool batch = options.action == kActionBatchCreate;
    if (absl::Status taken = EmailsTakenError(
            users, nlohmann::json::parse(found[0].as<std::string>()).get<std::set<std::string>>(),
            batch);
        !taken.ok()) {
      return taken;
    }
    const auto numbers = nlohmann::json::parse(found[1].as<std::string>()).get<std::vector<int>>();
    if (numbers.size() < users.size()) {
      return batch ? ExtensionPoolExhaustedError(static_cast<int>(numbers.size()),
                                                 static_cast<int>(users.size()))
                   : ExtensionPoolExhaustedError();
    }
    if (options.validate_only) return Created{};

    // One statement for every row: users, their extensions and the events.
    // The ids are made here, not by the database, so each sealed secret can be
    // bound to its user.
    nlohmann::json rows = nlohmann::json::array();
    std::vector<std::string> ids;
    ids.reserve(users.size());
    for (size_t i = 0; i < users.size(); ++i) {
      const std::string id = NewUuidV4();
      ids.push_back(id);
      UserRecord record{id, "", users[i].name, users[i].email, users[i].metadata, numbers[i]};
      rows.push_back({{"id", id},
                      {"name", users[i].name},
                      {"email", users[i].email},
                      {"metadata", users[i].metadata},
                      {"number", numbers[i]},
                      {"sealed", secrets_.Seal(sip_secrets[i], SipSecretContext(id))},
                      {"changes", ChangesToJson(CreatedFields(record))}});
    }
    pqxx::result inserted;
    try {
      inserted = transaction.exec_params(
          absl::StrCat(
              "WITH input AS ("
              "  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, name text,"
              "    email text, metadata jsonb, number int, sealed text, changes text)),"
              " u AS ("
              "  INSERT INTO users (id, tenant_id, name, email, metadata)"
              "  SELECT id, (SELECT id FROM tenants), name, email, metadata FROM input"
              "  RETURNING *),"
              " e AS ("
              "  INSERT INTO extensions (number, user_id, sip_secret_sealed)"
              "  SELECT number, id, sealed FROM input"
              "  RETURNING *),"
              " events AS ("
              "  INSERT INTO user_change_events"
              "   (actor_key_id, actor_key_name, request_id, action, user_id, extension, changes)"
              "  SELECT $2, $3, $4, $5, id, number, changes::jsonb FROM input ORDER BY number)"
              " SELECT ", kUserColumns, " FROM u JOIN e ON e.user_id = u.id ORDER BY e.number"),
          rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
          options.actor.key_id, options.actor.key_name, options.actor.request_id,
          std::string(options.action));
    } catch (const pqxx::unique_violation& e) {
      // A concurrent create outside the allocation lock cannot happen; this
      // is the case-insensitive email index catching what the check missed.
      if (!absl::StrContains(e.what(), "users_tenant_email_key")) throw;
      return absl::AlreadyExistsError("an email in the request is already taken");
    }
    if (options.key.has_value()) RecordCreatedUsers(transaction, *options.key, ids);
    transaction.commit();
    // Rows come back in extension order, which is request order; matched by
    // id all the same, so the secrets can never go to the wrong users.
    std::map<std::string, size_t> index_of;
    for (size_t i = 0; i < ids.size(); ++i) index_of[ids[i]] = i;
    Created created(users.size());
    for (const auto& row : inserted) {
      UserRecord record = RowToUser(row);
      const size_t i = index_of.at(record.id);
      SipCredentials credentials = MakeCredentials(record.id, record.extension, sip_secrets[i]);
      created[i] = {std::move(record), std::move(credentials)};
    }
    return created;
  });
}

absl::StatusOr<std::vector<CreatedUser>> PgUserStore::ReadCreatedUsers(
    pqxx::work& transaction, const std::vector<std::string>& ids) {
  // UUIDs need no quoting inside an array literal.
  pqxx::result result = transaction.exec_params(
      absl::StrCat("SELECT ", kUserColumns, ", e.sip_secret_sealed"
                   " FROM users u JOIN extensions e ON e.user_id = u.id"
                   " WHERE u.id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], u.id)"),
      absl::StrCat("{", absl::StrJoin(ids, ","), "}"));
  if (result.size() != ids.size()) return absl::NotFoundError("a created user is gone");
  std::vector<CreatedUser> created;
  for (const auto& row : result) {
    UserRecord record = RowToUser(row);
    absl::StatusOr<std::string> secret =
        OpenSipSecret(secrets_, record.id, row[kUserColumnCount].as<std::string>());
    if (!secret.ok()) return secret.status();
    SipCredentials credentials = MakeCredentials(record.id, record.extension, *std::move(secret));
    created.push_back({std::move(record), std::move(credentials)});
  }
  return created;
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

absl::StatusOr<UserRecord> PgUserStore::UpdateUser(absl::string_view id,
                                                    const UserPatch& patch,
                                                    const ChangeActor& actor) {
  return pool_.Query<UserRecord>(
      [&](pqxx::connection& connection) -> absl::StatusOr<UserRecord> {
        pqxx::work transaction(connection);
        absl::StatusOr<UserRecord> before = LockUser(transaction, id);
        if (!before.ok()) return before.status();
        UserRecord after = Patched(*before, patch);
        std::vector<FieldChange> changes = ChangedFields(*before, after);
        if (changes.empty()) return after;
        try {
          transaction.exec_params(
              "UPDATE users SET name = $2, email = $3, metadata = $4::jsonb WHERE id = $1::uuid",
              std::string(id), after.name, after.email, MetadataToJson(after.metadata));
        } catch (const pqxx::unique_violation& e) {
          if (!absl::StrContains(e.what(), "users_tenant_email_key")) throw;
          return EmailTakenError(after.email);
        }
        AppendChangeEvent(transaction, actor, kActionUpdate, id, after.extension, changes);
        transaction.commit();
        return after;
      });
}

absl::Status PgUserStore::DeleteUser(absl::string_view id, const ChangeActor& actor) {
  return pool_.Run([&](pqxx::connection& connection) {
    pqxx::work transaction(connection);
    absl::StatusOr<UserRecord> gone = LockUser(transaction, id);
    if (!gone.ok()) return gone.status();
    transaction.exec_params("DELETE FROM users WHERE id = $1::uuid", std::string(id));
    AppendChangeEvent(transaction, actor, kActionDelete, id, gone->extension, DeletedFields(*gone));
    transaction.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<SipCredentials> PgUserStore::GetSipCredentials(absl::string_view id,
                                                              const ChangeActor& actor) {
  return pool_.Query<SipCredentials>(
      [&](pqxx::connection& connection) -> absl::StatusOr<SipCredentials> {
        pqxx::work transaction(connection);
        pqxx::result result = transaction.exec_params(
            "SELECT number, sip_secret_sealed FROM extensions WHERE user_id = $1::uuid",
            std::string(id));
        if (result.empty()) return UserNotFound(id);
        absl::StatusOr<std::string> secret =
            OpenSipSecret(secrets_, id, result[0][1].as<std::string>());
        if (!secret.ok()) return secret.status();
        const int extension = result[0][0].as<int>();
        AppendChangeEvent(transaction, actor, kActionReadCredentials, id, extension, {});
        transaction.commit();
        return MakeCredentials(std::string(id), extension, *std::move(secret));
      });
}

absl::StatusOr<SipCredentials> PgUserStore::ReplaceSipSecret(absl::string_view id,
                                                             const std::string& sip_secret,
                                                             const ChangeActor& actor) {
  return pool_.Query<SipCredentials>(
      [&](pqxx::connection& connection) -> absl::StatusOr<SipCredentials> {
        pqxx::work transaction(connection);
        pqxx::result result = transaction.exec_params(
            "UPDATE extensions SET sip_secret = NULL, sip_secret_sealed = $2"
            " WHERE user_id = $1::uuid RETURNING number",
            std::string(id), secrets_.Seal(sip_secret, SipSecretContext(id)));
        if (result.empty()) return UserNotFound(id);
        const int extension = result[0][0].as<int>();
        AppendChangeEvent(transaction, actor, kActionRotate, id, extension, RotatedPassword());
        transaction.commit();
        return MakeCredentials(std::string(id), extension, sip_secret);
      });
}

absl::StatusOr<std::vector<UserChangeEvent>> PgUserStore::ListChangeEvents(
    int limit, absl::string_view user_id) {
  using Events = std::vector<UserChangeEvent>;
  return pool_.Query<Events>([&](pqxx::connection& connection) -> absl::StatusOr<Events> {
    return ReadChangeEvents(connection, limit, user_id);
  });
}

absl::StatusOr<UserRecord> PgUserStore::LockUser(pqxx::work& transaction, absl::string_view id) {
  pqxx::result result = transaction.exec_params(
      absl::StrCat("SELECT ", kUserColumns,
                   " FROM users u JOIN extensions e ON e.user_id = u.id"
                   " WHERE u.id = $1::uuid FOR UPDATE OF u"),
      std::string(id));
  if (result.empty()) return UserNotFound(id);
  return RowToUser(result[0]);
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

absl::StatusOr<UserStore::Provisioning> PgUserStore::ReadProvisioningUnless(
    absl::string_view known) {
  return pool_.Query<Provisioning>(
      [&](pqxx::connection& connection) -> absl::StatusOr<Provisioning> {
        // One statement, one snapshot: the fingerprint always describes the
        // rows sent with it. A secret not sealed yet counts by its clear text,
        // and sealing it changes the fingerprint (a harmless re-read).
        // The fingerprint is the row count and the sum of a 64-bit hash of
        // every row: order-free, so nothing is sorted or concatenated (half
        // the cost of an md5 of the rows; it runs beside every Preview, drift
        // check and Apply). A change goes unseen only if the sums collide.
        pqxx::result result = pqxx::nontransaction(connection).exec_params(
            "WITH fingerprint AS ("
            "  SELECT count(*) || ':' || coalesce(sum(hashtextextended(number || ':' ||"
            "    user_id || ':' || coalesce(sip_secret_sealed, 'clear:' || sip_secret), 0)), 0)"
            "    AS value FROM extensions)"
            " SELECT f.value, e.number, e.user_id::text, e.sip_secret_sealed"
            " FROM fingerprint f LEFT JOIN extensions e ON f.value <> $1"
            " ORDER BY e.number",
            std::string(known));
        Provisioning provisioning;
        provisioning.fingerprint = result.empty() ? "" : result[0][0].as<std::string>();
        provisioning.changed = provisioning.fingerprint != known;
        for (const auto& row : result) {
          if (row[1].is_null()) continue;
          absl::StatusOr<std::string> secret =
              OpenSipSecret(secrets_, row[2].as<std::string>(), row[3].as<std::string>());
          if (!secret.ok()) return secret.status();
          provisioning.extensions.push_back({row[1].as<int>(), std::move(*secret)});
        }
        return provisioning;
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
