#include "server/store/pg_apply_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "server/store/advisory_locks.h"
#include "server/store/pg_errors.h"

namespace pbx {
namespace {

// The lock lives in its own database session, outside the pool: it must be
// held across the whole Apply, and vanishes with the session if the server
// dies.
class PgApplyLock : public ApplyLock {
 public:
  explicit PgApplyLock(std::unique_ptr<pqxx::connection> connection)
      : connection_(std::move(connection)) {}
  ~PgApplyLock() override {
    try {
      pqxx::nontransaction(*connection_).exec_params("SELECT pg_advisory_unlock($1)",
                                                     kApplyLockKey);
    } catch (...) {
      // The session ends with the connection below, which releases the lock.
    }
  }

 private:
  std::unique_ptr<pqxx::connection> connection_;
};

constexpr char kMarkInterrupted[] =
    "UPDATE apply_audit_log SET outcome = 'interrupted', finished_at = now(),"
    " error_detail = 'the server stopped before this Apply finished; the files on the"
    " Asterisk host are either the old or the new version, and the next Apply rewrites"
    " them' WHERE outcome = 'running'";

constexpr absl::string_view kAuditColumns =
    "id, (extract(epoch FROM started_at) * 1000000)::bigint, "
    "(extract(epoch FROM finished_at) * 1000000)::bigint, triggered_by, asterisk_host, "
    "outcome, error_detail, user_count, content_hash, files::text, reload_output, "
    "verification, coalesce(duration_ms, 0), phases::text";

std::vector<ConfigFileRecord> FilesFromJson(const std::string& json) {
  google::protobuf::ListValue list;
  std::vector<ConfigFileRecord> files;
  if (!google::protobuf::util::JsonStringToMessage(json, &list).ok()) return files;
  for (const auto& value : list.values()) {
    const auto& fields = value.struct_value().fields();
    auto text = [&](const char* key) {
      auto it = fields.find(key);
      return it == fields.end() ? std::string() : it->second.string_value();
    };
    auto size = fields.find("size_bytes");
    files.push_back({text("path"), text("sha256"),
                     size == fields.end() ? 0 : static_cast<int64_t>(size->second.number_value())});
  }
  return files;
}

std::vector<ApplyPhase> PhasesFromJson(const std::string& json) {
  google::protobuf::ListValue list;
  std::vector<ApplyPhase> phases;
  if (!google::protobuf::util::JsonStringToMessage(json, &list).ok()) return phases;
  for (const auto& value : list.values()) {
    const auto& fields = value.struct_value().fields();
    auto name = fields.find("name");
    auto duration = fields.find("duration_us");
    phases.push_back({name == fields.end() ? "" : name->second.string_value(),
                      duration == fields.end()
                          ? 0
                          : static_cast<int64_t>(duration->second.number_value())});
  }
  return phases;
}

std::string PhasesToJson(const std::vector<ApplyPhase>& phases) {
  google::protobuf::ListValue list;
  for (const ApplyPhase& phase : phases) {
    auto& fields = *list.add_values()->mutable_struct_value()->mutable_fields();
    fields["name"].set_string_value(phase.name);
    fields["duration_us"].set_number_value(static_cast<double>(phase.duration_us));
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(list, &json);
  return json;
}

std::string FilesToJson(const std::vector<ConfigFileRecord>& files) {
  google::protobuf::ListValue list;
  for (const ConfigFileRecord& file : files) {
    auto& fields = *list.add_values()->mutable_struct_value()->mutable_fields();
    fields["path"].set_string_value(file.path);
    fields["sha256"].set_string_value(file.sha256);
    fields["size_bytes"].set_number_value(static_cast<double>(file.size_bytes));
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(list, &json);
  return json;
}

ApplyAuditEntry RowToAudit(const pqxx::row& row) {
  ApplyAuditEntry entry;
  entry.id = row[0].as<int64_t>();
  entry.started_at = absl::FromUnixMicros(row[1].as<int64_t>());
  if (!row[2].is_null()) entry.finished_at = absl::FromUnixMicros(row[2].as<int64_t>());
  entry.triggered_by = row[3].as<std::string>();
  entry.asterisk_host = row[4].as<std::string>();
  entry.outcome =
      ApplyOutcomeFromName(row[5].as<std::string>()).value_or(ApplyOutcome::kFailure);
  entry.error_detail = row[6].as<std::string>();
  entry.user_count = row[7].as<int>();
  entry.content_hash = row[8].as<std::string>();
  entry.files = FilesFromJson(row[9].as<std::string>());
  entry.reload_output = row[10].as<std::string>();
  entry.verification = row[11].as<std::string>();
  entry.duration_ms = row[12].as<int64_t>();
  entry.phases = PhasesFromJson(row[13].as<std::string>());
  return entry;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApplyLock>> PgApplyStore::LockApply(absl::Duration wait) {
  if (!pool_.schema_ready()) return DatabaseUnavailableError();
  auto connection = pool_.Connect();
  if (!connection.ok()) return connection.status();
  try {
    pqxx::nontransaction session(**connection);
    // Waiting for another Apply is not a slow query: only lock_timeout bounds it.
    session.exec(absl::StrCat("SET statement_timeout = 0; SET lock_timeout = ",
                              std::max<int64_t>(1, absl::ToInt64Milliseconds(wait))));
    session.exec_params("SELECT pg_advisory_lock($1)", kApplyLockKey);
    session.exec("RESET statement_timeout; RESET lock_timeout");
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "55P03") {
      return absl::AbortedError(absl::StrCat("another Apply is still running after waiting ",
                                             absl::FormatDuration(wait), "; try again"));
    }
    return StatusFromDatabaseException(std::current_exception());
  } catch (...) {
    return StatusFromDatabaseException(std::current_exception());
  }
  return std::unique_ptr<ApplyLock>(new PgApplyLock(std::move(*connection)));
}

absl::StatusOr<ApplyAuditEntry> PgApplyStore::OpenAudit(absl::string_view triggered_by,
                                                        absl::string_view asterisk_host) {
  return pool_.Query<ApplyAuditEntry>(
      [&](pqxx::connection& connection) -> absl::StatusOr<ApplyAuditEntry> {
        pqxx::work transaction(connection);
        transaction.exec(kMarkInterrupted);
        pqxx::row row = transaction.exec_params1(
            absl::StrCat("INSERT INTO apply_audit_log (triggered_by, asterisk_host)"
                         " VALUES ($1, $2) RETURNING ",
                         kAuditColumns),
            std::string(triggered_by), std::string(asterisk_host));
        transaction.commit();
        return RowToAudit(row);
      });
}

absl::Status PgApplyStore::CloseAudit(ApplyAuditEntry& entry) {
  return pool_.Run([&](pqxx::connection& connection) {
    pqxx::work transaction(connection);
    pqxx::row row = transaction.exec_params1(
        "UPDATE apply_audit_log SET finished_at = now(), outcome = $2, error_detail = $3,"
        " user_count = $4, content_hash = $5, files = $6::jsonb, reload_output = $7,"
        " verification = $8, duration_ms = $9, phases = $10::jsonb WHERE id = $1"
        " RETURNING (extract(epoch FROM finished_at) * 1000000)::bigint",
        entry.id, std::string(ApplyOutcomeName(entry.outcome)), entry.error_detail,
        entry.user_count, entry.content_hash, FilesToJson(entry.files), entry.reload_output,
        entry.verification, entry.duration_ms, PhasesToJson(entry.phases));
    transaction.commit();
    entry.finished_at = absl::FromUnixMicros(row[0].as<int64_t>());
    return absl::OkStatus();
  });
}

absl::StatusOr<ApplyAuditEntry> PgApplyStore::RecordRejectedApply(
    absl::string_view triggered_by, absl::string_view asterisk_host, absl::Duration waited,
    absl::string_view error_detail) {
  const int64_t waited_ms = absl::ToInt64Milliseconds(waited);
  return pool_.Query<ApplyAuditEntry>(
      [&](pqxx::connection& connection) -> absl::StatusOr<ApplyAuditEntry> {
        pqxx::work transaction(connection);
        pqxx::row row = transaction.exec_params1(
            absl::StrCat("INSERT INTO apply_audit_log (started_at, finished_at, triggered_by,"
                         " asterisk_host, outcome, error_detail, duration_ms)"
                         " VALUES (now() - $3 * interval '1 millisecond', now(), $1, $2,"
                         " 'failure', $4, $3) RETURNING ",
                         kAuditColumns),
            std::string(triggered_by), std::string(asterisk_host), waited_ms,
            std::string(error_detail));
        transaction.commit();
        return RowToAudit(row);
      });
}

absl::StatusOr<int> PgApplyStore::RecoverInterruptedApplies() {
  return pool_.Query<int>([](pqxx::connection& connection) -> absl::StatusOr<int> {
    pqxx::work transaction(connection);
    // Only while nobody applies: a 'running' row of a live Apply is not stale.
    if (!transaction.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kApplyLockKey)[0]
             .as<bool>()) {
      return 0;
    }
    const int marked = static_cast<int>(transaction.exec(kMarkInterrupted).affected_rows());
    transaction.commit();
    return marked;
  });
}

absl::StatusOr<std::vector<ProvisionedExtension>> PgApplyStore::ReadProvisioning() {
  using Extensions = std::vector<ProvisionedExtension>;
  return pool_.Query<Extensions>([](pqxx::connection& connection) -> absl::StatusOr<Extensions> {
    pqxx::result result = pqxx::nontransaction(connection).exec(
        "SELECT number, sip_secret FROM extensions ORDER BY number");
    Extensions extensions;
    extensions.reserve(result.size());
    for (const auto& row : result) {
      extensions.push_back({row[0].as<int>(), row[1].as<std::string>()});
    }
    return extensions;
  });
}

absl::StatusOr<std::vector<ApplyAuditEntry>> PgApplyStore::ListAudit(int limit) {
  using Entries = std::vector<ApplyAuditEntry>;
  return pool_.Query<Entries>([&](pqxx::connection& connection) -> absl::StatusOr<Entries> {
    pqxx::result result = pqxx::nontransaction(connection).exec_params(
        absl::StrCat("SELECT ", kAuditColumns,
                     " FROM apply_audit_log ORDER BY started_at DESC, id DESC LIMIT $1"),
        limit);
    Entries entries;
    for (const auto& row : result) entries.push_back(RowToAudit(row));
    return entries;
  });
}

absl::StatusOr<std::optional<ApplyAuditEntry>> PgApplyStore::LatestAudit(bool successful_only) {
  using Latest = std::optional<ApplyAuditEntry>;
  return pool_.Query<Latest>([&](pqxx::connection& connection) -> absl::StatusOr<Latest> {
    pqxx::result result = pqxx::nontransaction(connection).exec(absl::StrCat(
        "SELECT ", kAuditColumns, " FROM apply_audit_log",
        successful_only ? " WHERE outcome = 'success'" : "",
        " ORDER BY started_at DESC, id DESC LIMIT 1"));
    if (result.empty()) return Latest();
    return Latest(RowToAudit(result[0]));
  });
}

}  // namespace pbx
