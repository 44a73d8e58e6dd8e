#include "server/store/pg_apply_store.h"

#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "pbx/v1/apply_service.pb.h"
#include "server/store/advisory_locks.h"
#include "server/store/pg_errors.h"

namespace pbx {
namespace {

// The lock lives in its own database session, outside the pool: it must be
// held across the whole Apply, and vanishes with the session if the server
// dies.
constexpr char kMarkInterrupted[] =
    "UPDATE apply_audit_log SET outcome = 'interrupted', finished_at = now(),"
    " error_detail = 'the server stopped before this Apply finished; the files on the"
    " Asterisk host are either the old or the new version, and the next Apply rewrites"
    " them' WHERE outcome = 'running'";

constexpr absl::string_view kAuditColumns =
    "id, (extract(epoch FROM started_at) * 1000000)::bigint, "
    "(extract(epoch FROM finished_at) * 1000000)::bigint, triggered_by, asterisk_host, "
    "outcome, error_detail, user_count, content_hash, files::text, reload_output, "
    "verification, coalesce(duration_ms, 0), phases::text, coalesce(request_id, '')";

// files and phases are JSON arrays of pbx.v1.ConfigFileRecord and
// pbx.v1.ApplyPhase in proto JSON with the proto field names, e.g.
// [{"name": "upload", "duration_us": "2500"}]. Proto JSON writes int64 as
// strings; rows written before it have numbers there, which its parser reads
// just the same (as it reads lowerCamelCase keys).
google::protobuf::util::JsonPrintOptions StoredJsonOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;  // a 0 stays visible to SQL
  return options;
}

template <typename Item>
std::string ToJsonArray(const std::vector<Item>& items) {
  std::string json = "[";
  for (const Item& item : items) {
    std::string element;
    if (!google::protobuf::util::MessageToJsonString(ToProto(item), &element,
                                                     StoredJsonOptions())
             .ok()) {
      continue;  // leave out what cannot be printed rather than fail closing the row
    }
    if (json.size() > 1) json.push_back(',');
    json += element;
  }
  json.push_back(']');
  return json;
}

// The files or phases column (`key`), parsed once as that field of an audit
// entry: a JSON array cannot be parsed into a message by itself. The column is
// jsonb, so the text is JSON, but nothing forces the shape: a list that does
// not parse reads as empty.
v1::ApplyAuditEntry ParseAuditList(absl::string_view key, const std::string& json) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // a key a newer server added is no reason to drop the rest
  v1::ApplyAuditEntry parsed;
  if (!google::protobuf::util::JsonStringToMessage(absl::StrCat("{\"", key, "\":", json, "}"),
                                                   &parsed, options)
           .ok()) {
    parsed.Clear();
  }
  return parsed;
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
  const v1::ApplyAuditEntry files = ParseAuditList("files", row[9].as<std::string>());
  for (const v1::ConfigFileRecord& file : files.files()) entry.files.push_back(FromProto(file));
  entry.reload_output = row[10].as<std::string>();
  entry.verification = row[11].as<std::string>();
  entry.duration_ms = row[12].as<int64_t>();
  const v1::ApplyAuditEntry phases = ParseAuditList("phases", row[13].as<std::string>());
  for (const v1::ApplyPhase& phase : phases.phases()) entry.phases.push_back(FromProto(phase));
  entry.request_id = row[14].as<std::string>();
  return entry;
}

}  // namespace

struct PgApplyStore::LockConnectionShelf {
  absl::Mutex mu;
  std::unique_ptr<pqxx::connection> connection ABSL_GUARDED_BY(mu);
};

namespace {

class PgApplyLock : public ApplyLock {
 public:
  PgApplyLock(std::unique_ptr<pqxx::connection> connection,
              std::weak_ptr<PgApplyStore::LockConnectionShelf> shelf)
      : connection_(std::move(connection)), shelf_(std::move(shelf)) {}
  ~PgApplyLock() override {
    try {
      pqxx::nontransaction(*connection_).exec_params("SELECT pg_advisory_unlock($1)",
                                                     kApplyLockKey);
    } catch (...) {
      // The session ends with the connection below, which releases the lock.
      return;
    }
    if (std::shared_ptr<PgApplyStore::LockConnectionShelf> shelf = shelf_.lock()) {
      absl::MutexLock lock(&shelf->mu);
      if (shelf->connection == nullptr) shelf->connection = std::move(connection_);
    }
  }

 private:
  std::unique_ptr<pqxx::connection> connection_;
  const std::weak_ptr<PgApplyStore::LockConnectionShelf> shelf_;
};

}  // namespace

PgApplyStore::PgApplyStore(PgPool& pool)
    : pool_(pool), lock_connections_(std::make_shared<LockConnectionShelf>()) {}

absl::StatusOr<bool> PgApplyStore::TakeLock(pqxx::connection& connection,
                                            absl::Duration wait) {
  try {
    // One round trip. Waiting for another Apply is not a slow query: only
    // lock_timeout bounds it. The statements run as one implicit transaction,
    // so when the lock times out the settings roll back with it.
    pqxx::nontransaction(connection)
        .exec(absl::StrCat("SET statement_timeout = 0; SET lock_timeout = ",
                           std::max<int64_t>(1, absl::ToInt64Milliseconds(wait)),
                           "; SELECT pg_advisory_lock(", kApplyLockKey,
                           "); RESET lock_timeout; RESET statement_timeout"));
  } catch (const pqxx::broken_connection&) {
    return false;
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "55P03") {
      return absl::AbortedError(absl::StrCat("another Apply is still running after waiting ",
                                             absl::FormatDuration(wait), "; try again"));
    }
    return StatusFromDatabaseException(std::current_exception());
  } catch (...) {
    return StatusFromDatabaseException(std::current_exception());
  }
  return true;
}

absl::StatusOr<std::unique_ptr<ApplyLock>> PgApplyStore::LockApply(absl::Duration wait) {
  if (!pool_.schema_ready()) return DatabaseUnavailableError();
  std::unique_ptr<pqxx::connection> kept;
  {
    absl::MutexLock lock(&lock_connections_->mu);
    kept = std::move(lock_connections_->connection);
  }
  if (kept != nullptr) {
    absl::StatusOr<bool> locked = TakeLock(*kept, wait);
    if (!locked.ok()) return locked.status();
    if (*locked) return std::unique_ptr<ApplyLock>(new PgApplyLock(std::move(kept), lock_connections_));
    kept.reset();  // broken since the last Apply: open a fresh one
  }
  absl::StatusOr<std::unique_ptr<pqxx::connection>> connection = pool_.Connect();
  if (!connection.ok()) return connection.status();
  absl::StatusOr<bool> locked = TakeLock(**connection, wait);
  if (!locked.ok()) return locked.status();
  if (!*locked) return DatabaseUnavailableError();
  return std::unique_ptr<ApplyLock>(new PgApplyLock(std::move(*connection), lock_connections_));
}

absl::StatusOr<ApplyAuditEntry> PgApplyStore::OpenAudit(absl::string_view triggered_by,
                                                        absl::string_view asterisk_host,
                                                        absl::string_view request_id) {
  return pool_.Query<ApplyAuditEntry>(
      [&](pqxx::connection& connection) -> absl::StatusOr<ApplyAuditEntry> {
        pqxx::work transaction(connection);
        transaction.exec(kMarkInterrupted);
        pqxx::row row = transaction.exec_params1(
            absl::StrCat("INSERT INTO apply_audit_log (triggered_by, asterisk_host, request_id)"
                         " VALUES ($1, $2, NULLIF($3, '')) RETURNING ",
                         kAuditColumns),
            std::string(triggered_by), std::string(asterisk_host), std::string(request_id));
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
        entry.user_count, entry.content_hash, ToJsonArray(entry.files), entry.reload_output,
        entry.verification, entry.duration_ms, ToJsonArray(entry.phases));
    transaction.commit();
    entry.finished_at = absl::FromUnixMicros(row[0].as<int64_t>());
    return absl::OkStatus();
  });
}

absl::StatusOr<ApplyAuditEntry> PgApplyStore::RecordRejectedApply(
    absl::string_view triggered_by, absl::string_view asterisk_host,
    absl::string_view request_id, absl::Duration waited, absl::string_view error_detail) {
  const int64_t waited_ms = absl::ToInt64Milliseconds(waited);
  return pool_.Query<ApplyAuditEntry>(
      [&](pqxx::connection& connection) -> absl::StatusOr<ApplyAuditEntry> {
        pqxx::work transaction(connection);
        pqxx::row row = transaction.exec_params1(
            absl::StrCat("INSERT INTO apply_audit_log (started_at, finished_at, triggered_by,"
                         " asterisk_host, outcome, error_detail, duration_ms, request_id)"
                         " VALUES (now() - $3 * interval '1 millisecond', now(), $1, $2,"
                         " 'failure', $4, $3, NULLIF($5, '')) RETURNING ",
                         kAuditColumns),
            std::string(triggered_by), std::string(asterisk_host), waited_ms,
            std::string(error_detail), std::string(request_id));
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

absl::StatusOr<ApplyStore::LatestApplies> PgApplyStore::LatestAudits() {
  return pool_.Query<LatestApplies>(
      [&](pqxx::connection& connection) -> absl::StatusOr<LatestApplies> {
        // The audit columns, then whether the row is the newest successful one.
        pqxx::result result = pqxx::nontransaction(connection).exec(absl::StrCat(
            "(SELECT ", kAuditColumns, ", false FROM apply_audit_log"
            " ORDER BY started_at DESC, id DESC LIMIT 1)"
            " UNION ALL (SELECT ", kAuditColumns, ", true FROM apply_audit_log"
            " WHERE outcome = 'success' ORDER BY started_at DESC, id DESC LIMIT 1)"));
        LatestApplies latest;
        for (const pqxx::row& row : result) {
          const bool successful = row[row.size() - 1].as<bool>();
          (successful ? latest.successful : latest.any) = RowToAudit(row);
        }
        return latest;
      });
}

}  // namespace pbx
