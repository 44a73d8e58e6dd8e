#ifndef PBX_SERVER_STORE_APPLY_STORE_H_
#define PBX_SERVER_STORE_APPLY_STORE_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/cancellation.h"
#include "server/core/apply_audit.h"
#include "server/core/drift.h"

namespace pbx {

// Held while one Apply runs; released on destruction (or when the process
// dies, as the lock lives in a database session).
class ApplyLock {
 public:
  virtual ~ApplyLock() = default;
};

// What Apply needs from the database.
class ApplyStore {
 public:
  virtual ~ApplyStore() = default;

  // Waits up to `wait` until no other Apply runs anywhere on the database.
  // ABORTED when the wait runs out (or too many Applies wait already),
  // CANCELLED when `cancelled` turns true while waiting.
  virtual absl::StatusOr<std::unique_ptr<ApplyLock>> LockApply(
      absl::Duration wait, const IsCancelled& cancelled = NeverCancelled) = 0;

  // Opens a 'running' audit row (id and started_at filled in). Call with the
  // lock held: any other row still 'running' then belongs to a server that
  // died mid-Apply, and is marked 'interrupted'.
  virtual absl::StatusOr<ApplyAuditEntry> OpenAudit(const ApplyRequester& requester,
                                                    absl::string_view asterisk_host) = 0;
  // Records an Apply that never ran because it did not get the lock within
  // `waited` (outcome failure, closed at once); needs no lock.
  virtual absl::StatusOr<ApplyAuditEntry> RecordRejectedApply(const ApplyRequester& requester,
                                                              absl::string_view asterisk_host,
                                                              absl::Duration waited,
                                                              absl::string_view error_detail) = 0;
  // Records how the Apply ended (outcome, details, duration...) and sets
  // entry.finished_at.
  virtual absl::Status CloseAudit(ApplyAuditEntry& entry) = 0;

  // Marks 'running' rows 'interrupted' when no Apply runs anywhere (their
  // server died mid-Apply); called when a server starts. Returns how many.
  virtual absl::StatusOr<int> RecoverInterruptedApplies() = 0;

  // Newest first.
  virtual absl::StatusOr<std::vector<ApplyAuditEntry>> ListAudit(int limit) = 0;
  // The newest Apply and the newest successful one (either may be missing),
  // in one query.
  struct LatestApplies {
    std::optional<ApplyAuditEntry> any;
    std::optional<ApplyAuditEntry> successful;
  };
  virtual absl::StatusOr<LatestApplies> LatestAudits() = 0;
  // For each of `hosts` (names, in the order given): the newest audit entry
  // in which that host succeeded (HostSucceeded, with `legacy_host` for the
  // entries recorded before hosts were), or none. One query, one entry read
  // per host.
  virtual absl::StatusOr<std::vector<std::optional<ApplyAuditEntry>>> LatestHostSuccesses(
      const std::vector<std::string>& hosts, absl::string_view legacy_host) = 0;

  // The background drift check, shared by every server process: true when
  // this process (`checker`) may run the next check, i.e. no process claimed
  // one within `interval`.
  virtual absl::StatusOr<bool> ClaimDriftCheck(absl::Duration interval,
                                               absl::string_view checker) = 0;
  // Stores what the claimed check found (checked_at is set by the database).
  virtual absl::Status RecordDriftCheck(const DriftCheckSummary& summary) = 0;
  // The newest check; none before the first.
  virtual absl::StatusOr<std::optional<DriftCheckSummary>> LatestDriftCheck() = 0;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_APPLY_STORE_H_
