#include "server/store/pg_apply_store.h"

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "server/store/advisory_locks.h"
#include "server/store/json_columns.h"
#include "server/store/pg_errors.h"

namespace pbx {
namespace {

// Closes the rows of Applies whose server stopped mid-way. Only safe while no
// Apply runs anywhere: with the Apply lock held, or having just taken it.
constexpr char kMarkInterrupted[] =
    "UPDATE apply_audit_log SET outcome = 'interrupted', finished_at = now(),"
    " error_detail = 'the server stopped before this Apply finished; the files on the"
    " Asterisk host are either the old or the new version, and the next Apply rewrites"
    " them' WHERE outcome = 'running'";

constexpr absl::string_view kAuditColumns =
    "id, (extract(epoch FROM started_at) * 1000000)::bigint, "
    "(extract(epoch FROM finished_at) * 1000000)::bigint, triggered_by, asterisk_host, "
    "outcome, error_detail, user_count, content_hash, files::text, reload_output, "
    "verification, coalesce(duration_ms, 0), phases::text, coalesce(request_id, ''), "
    "coalesce(triggered_by_key_id::text, ''), note, changed, forced, hosts::text";

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
  entry.request_id = row[14].as<std::string>();
  entry.triggered_by_key_id = row[15].as<std::string>();
  entry.note = row[16].as<std::string>();
  entry.changed = row[17].as<bool>();
  entry.forced = row[18].as<bool>();
  entry.hosts = HostsFromJson(row[19].as<std::string>());
  return entry;
}

}  // namespace

PgApplyStore::PgApplyStore(PgPool& pool, int max_lock_waiters)
    : pool_(pool), locker_(pool, max_lock_waiters) {}

absl::StatusOr<std::unique_ptr<ApplyLock>> PgApplyStore::LockApply(absl::Duration wait,
                                                                   const IsCancelled& cancelled) {
  return locker_.Lock(wait, cancelled);
}

absl::StatusOr<ApplyAuditEntry> PgApplyStore::OpenAudit(const ApplyRequester& requester,
                                                        absl::string_view asterisk_host) {
  return pool_.Query<ApplyAuditEntry>(
      [&](pqxx::connection& connection) -> absl::StatusOr<ApplyAuditEntry> {
        pqxx::work transaction(connection);
        transaction.exec(kMarkInterrupted);
        pqxx::row row = transaction.exec_params1(
            absl::StrCat("INSERT INTO apply_audit_log (triggered_by, asterisk_host, request_id,"
                         " triggered_by_key_id, note, forced, changed)"
                         " VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, '')::uuid, $5, $6, false)"
                         " RETURNING ",
                         kAuditColumns),
            requester.name, std::string(asterisk_host), requester.request_id, requester.key_id,
            requester.note, requester.force);
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
        " verification = $8, duration_ms = $9, phases = $10::jsonb, changed = $11,"
        " hosts = $12::jsonb"
        " WHERE id = $1 RETURNING (extract(epoch FROM finished_at) * 1000000)::bigint",
        entry.id, std::string(ApplyOutcomeName(entry.outcome)), entry.error_detail,
        entry.user_count, entry.content_hash, FilesToJson(entry.files), entry.reload_output,
        entry.verification, entry.duration_ms, PhasesToJson(entry.phases), entry.changed,
        HostsToJson(entry.hosts));
    transaction.commit();
    entry.finished_at = absl::FromUnixMicros(row[0].as<int64_t>());
    return absl::OkStatus();
  });
}

absl::StatusOr<ApplyAuditEntry> PgApplyStore::RecordRejectedApply(
    const ApplyRequester& requester, absl::string_view asterisk_host, absl::Duration waited,
    absl::string_view error_detail) {
  const int64_t waited_ms = absl::ToInt64Milliseconds(waited);
  return pool_.Query<ApplyAuditEntry>(
      [&](pqxx::connection& connection) -> absl::StatusOr<ApplyAuditEntry> {
        pqxx::work transaction(connection);
        pqxx::row row = transaction.exec_params1(
            absl::StrCat("INSERT INTO apply_audit_log (started_at, finished_at, triggered_by,"
                         " asterisk_host, outcome, error_detail, duration_ms, request_id,"
                         " triggered_by_key_id, note, forced, changed)"
                         " VALUES (now() - $3 * interval '1 millisecond', now(), $1, $2,"
                         " 'failure', $4, $3, NULLIF($5, ''), NULLIF($6, '')::uuid, $7, $8,"
                         " false) RETURNING ",
                         kAuditColumns),
            requester.name, std::string(asterisk_host), waited_ms, std::string(error_detail),
            requester.request_id, requester.key_id, requester.note, requester.force);
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

absl::StatusOr<std::vector<std::optional<ApplyAuditEntry>>> PgApplyStore::LatestHostSuccesses(
    const std::vector<std::string>& hosts, absl::string_view legacy_host) {
  using Successes = std::vector<std::optional<ApplyAuditEntry>>;
  return pool_.Query<Successes>([&](pqxx::connection& connection) -> absl::StatusOr<Successes> {
    // Per host, the newest row whose hosts hold its success (the containment
    // test), or a success of before hosts were recorded for the legacy host:
    // HostSucceeded. One row per host at most, found newest first (the
    // started_at index's order); the audit columns, then the host's position.
    const pqxx::result result = pqxx::nontransaction(connection).exec_params(
        absl::StrCat(
            "SELECT ", kAuditColumns, ", wanted.position FROM jsonb_array_elements_text($1::jsonb)"
            " WITH ORDINALITY AS wanted(host_name, position) CROSS JOIN LATERAL"
            " (SELECT * FROM apply_audit_log WHERE hosts @> jsonb_build_array(jsonb_build_object("
            "'name', wanted.host_name, 'outcome', 'success'))"
            " OR (wanted.host_name = $2 AND hosts = '[]'::jsonb AND outcome = 'success')"
            " ORDER BY started_at DESC, id DESC LIMIT 1) AS success"),
        nlohmann::json(hosts).dump(), std::string(legacy_host));
    Successes successes(hosts.size());
    for (const pqxx::row& row : result) {
      successes.at(row[row.size() - 1].as<size_t>() - 1) = RowToAudit(row);
    }
    return successes;
  });
}

absl::StatusOr<bool> PgApplyStore::ClaimDriftCheck(absl::Duration interval,
                                                   absl::string_view checker) {
  return pool_.Query<bool>([&](pqxx::connection& connection) -> absl::StatusOr<bool> {
    pqxx::work transaction(connection);
    // Four fifths of the interval, so a process ticking a little early
    // still takes its turn, and one ticking half an interval after the
    // claimer never checks twice per interval.
    const pqxx::result claimed = transaction.exec_params(
        "UPDATE drift_check SET claimed_at = now(), claimed_by = $2 WHERE id = 1 AND"
        " (claimed_at IS NULL OR claimed_at <= now() - $1 * interval '1 millisecond')"
        " RETURNING 1",
        absl::ToInt64Milliseconds(interval) * 4 / 5, std::string(checker));
    transaction.commit();
    return !claimed.empty();
  });
}

absl::Status PgApplyStore::RecordDriftCheck(const DriftCheckSummary& summary) {
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& [kind, count] : summary.counts) counts[kind] = count;
  return pool_.Run([&](pqxx::connection& connection) {
    pqxx::work transaction(connection);
    transaction.exec_params(
        "UPDATE drift_check SET checked_at = now(), checked_by = $1, in_sync = $2,"
        " finding_counts = $3::jsonb, error = $4, hosts = $5::jsonb WHERE id = 1",
        summary.checked_by,
        summary.completed ? std::optional<bool>(summary.in_sync) : std::nullopt, counts.dump(),
        summary.error, DriftHostsToJson(summary.hosts));
    transaction.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<DriftCheckSummary>> PgApplyStore::LatestDriftCheck() {
  using Latest = std::optional<DriftCheckSummary>;
  return pool_.Query<Latest>([&](pqxx::connection& connection) -> absl::StatusOr<Latest> {
    const pqxx::result result = pqxx::nontransaction(connection).exec(
        "SELECT (extract(epoch FROM checked_at) * 1000000)::bigint, checked_by, in_sync,"
        " finding_counts::text, error, hosts::text FROM drift_check"
        " WHERE id = 1 AND checked_at IS NOT NULL");
    if (result.empty()) return Latest();
    const pqxx::row row = result[0];
    DriftCheckSummary summary;
    summary.checked_at = absl::FromUnixMicros(row[0].as<int64_t>());
    summary.checked_by = row[1].as<std::string>();
    summary.completed = !row[2].is_null();
    summary.in_sync = summary.completed && row[2].as<bool>();
    const nlohmann::json counts = nlohmann::json::parse(row[3].as<std::string>(), nullptr, false);
    if (counts.is_object()) {
      for (const auto& [kind, count] : counts.items()) {
        if (count.is_number_integer()) summary.counts[kind] = count.get<int>();
      }
    }
    summary.error = row[4].as<std::string>();
    summary.hosts = DriftHostsFromJson(row[5].as<std::string>());
    return Latest(std::move(summary));
  });
}

}  // namespace pbx
