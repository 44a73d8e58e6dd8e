#ifndef PBX_SERVER_STORE_PG_APPLY_STORE_H_
#define PBX_SERVER_STORE_PG_APPLY_STORE_H_

#include <memory>

#include "server/store/apply_store.h"
#include "server/store/pg_apply_lock.h"
#include "server/store/pg_pool.h"

namespace pbx {

// The Apply audit log in PostgreSQL, and the Apply lock (PgApplyLocker).
class PgApplyStore : public ApplyStore {
 public:
  // At most `max_lock_waiters` Applies of this process wait for the lock.
  PgApplyStore(PgPool& pool, int max_lock_waiters);

  absl::StatusOr<std::unique_ptr<ApplyLock>> LockApply(
      absl::Duration wait, const IsCancelled& cancelled = NeverCancelled) override;
  absl::StatusOr<ApplyAuditEntry> OpenAudit(const ApplyRequester& requester,
                                            absl::string_view asterisk_host) override;
  absl::Status CloseAudit(ApplyAuditEntry& entry) override;
  absl::StatusOr<ApplyAuditEntry> RecordRejectedApply(const ApplyRequester& requester,
                                                      absl::string_view asterisk_host,
                                                      absl::Duration waited,
                                                      absl::string_view error_detail) override;
  absl::StatusOr<int> RecoverInterruptedApplies() override;
  absl::StatusOr<std::vector<ApplyAuditEntry>> ListAudit(int limit) override;
  absl::StatusOr<LatestApplies> LatestAudits() override;
  absl::StatusOr<std::vector<std::optional<ApplyAuditEntry>>> LatestHostSuccesses(
      const std::vector<std::string>& hosts, absl::string_view legacy_host) override;
  absl::StatusOr<bool> ClaimDriftCheck(absl::Duration interval,
                                       absl::string_view checker) override;
  absl::Status RecordDriftCheck(const DriftCheckSummary& summary) override;
  absl::StatusOr<std::optional<DriftCheckSummary>> LatestDriftCheck() override;

 private:
  PgPool& pool_;
  PgApplyLocker locker_;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_APPLY_STORE_H_
