#ifndef PBX_SERVER_STORE_PG_APPLY_STORE_H_
#define PBX_SERVER_STORE_PG_APPLY_STORE_H_

#include <memory>

#include "server/store/apply_store.h"
#include "server/store/pg_pool.h"

namespace pbx {

class PgApplyStore : public ApplyStore {
 public:
  explicit PgApplyStore(PgPool& pool);

  absl::StatusOr<std::unique_ptr<ApplyLock>> LockApply(absl::Duration wait) override;
  absl::StatusOr<ApplyAuditEntry> OpenAudit(absl::string_view triggered_by,
                                            absl::string_view asterisk_host,
                                            absl::string_view request_id) override;
  absl::Status CloseAudit(ApplyAuditEntry& entry) override;
  absl::StatusOr<ApplyAuditEntry> RecordRejectedApply(absl::string_view triggered_by,
                                                      absl::string_view asterisk_host,
                                                      absl::string_view request_id,
                                                      absl::Duration waited,
                                                      absl::string_view error_detail) override;
  absl::StatusOr<int> RecoverInterruptedApplies() override;
  absl::StatusOr<std::vector<ProvisionedExtension>> ReadProvisioning() override;
  absl::StatusOr<std::vector<ApplyAuditEntry>> ListAudit(int limit) override;
  absl::StatusOr<LatestApplies> LatestAudits() override;

  // Shared with the locks handed out, which give their connection back when
  // released (and may outlive the store).
  struct LockConnectionShelf;

 private:
  // Takes the lock on `connection`; false when the connection turned out to
  // be broken (one kept from an earlier Apply, after a database restart).
  absl::StatusOr<bool> TakeLock(pqxx::connection& connection, absl::Duration wait);

  PgPool& pool_;
  // The connection of the last Apply lock, kept for the next: opening one
  // cost more than everything else taking the lock does.
  std::shared_ptr<LockConnectionShelf> lock_connections_;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_APPLY_STORE_H_
