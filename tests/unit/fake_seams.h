#ifndef PBX_TESTS_UNIT_FAKE_SEAMS_H_
#define PBX_TESTS_UNIT_FAKE_SEAMS_H_

// In-memory fakes of the two seams (the store and the Asterisk host), for
// testing the use cases' orchestration: every failure a step can have, on
// demand. The real parts are tested against PostgreSQL (tests/integration)
// and the Asterisk lab (tests/e2e).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/asterisk/asterisk_host.h"
#include "server/store/apply_store.h"
#include "server/store/user_store.h"

namespace pbx::testing {

// Users and extensions in memory, with the real store's rules: the lowest
// free extension, one user per email ignoring case.
class FakeUserStore : public UserStore {
 public:
  absl::StatusOr<std::vector<CreatedUser>> CreateUsers(const std::vector<NewUser>& users,
                                                       const std::vector<std::string>& sip_secrets,
                                                       const CreateOptions& options) override;
  absl::StatusOr<UserRecord> GetUser(absl::string_view id) override;
  absl::StatusOr<std::vector<UserRecord>> ListUsers() override;
  absl::StatusOr<UserRecord> UpdateUser(absl::string_view id, const UserPatch& patch,
                                        const ChangeActor& actor) override;
  absl::Status DeleteUser(absl::string_view id, const ChangeActor& actor) override;
  absl::StatusOr<SipCredentials> GetSipCredentials(absl::string_view id,
                                                   const ChangeActor& actor) override;
  absl::StatusOr<SipCredentials> ReplaceSipSecret(absl::string_view id,
                                                  const std::string& sip_secret,
                                                  const ChangeActor& actor) override;
  absl::StatusOr<std::vector<UserChangeEvent>> ListChangeEvents(
      int limit, absl::string_view user_id) override;
  absl::StatusOr<std::vector<ProvisionedExtension>> ReadProvisioning() override;
  absl::StatusOr<Provisioning> ReadProvisioningUnless(absl::string_view known) override;
  absl::StatusOr<int> CountExtensions() override;

  // Adds an extension straight away (for Apply tests), whatever its values.
  void Provision(int number, const std::string& secret);
  // Removes the user holding `number`.
  void Unprovision(int number);

  // Every call, by method name: "CreateUsers", "GetUser <id>", ...
  std::vector<std::string> calls;
  // When set, ReadProvisioning fails with it.
  std::optional<absl::Status> read_failure;

 private:
  struct Stored {
    UserRecord user;
    std::string secret;
  };
  void Record(const ChangeActor& actor, absl::string_view action, const UserRecord& user,
              std::vector<FieldChange> changes);

  std::map<std::string, Stored> users_;  // by id
  std::vector<UserChangeEvent> events_;  // oldest first
  struct EarlierRequest {
    IdempotencyKey key;
    std::string actor_key_id;
    std::vector<std::string> user_ids;
  };
  std::map<std::string, EarlierRequest> request_ids_;  // by request id
  int next_id_ = 1;
};

// The Apply lock and audit log in memory.
class FakeApplyStore : public ApplyStore {
 public:
  absl::StatusOr<std::unique_ptr<ApplyLock>> LockApply(absl::Duration wait,
                                                       const IsCancelled& cancelled) override;
  absl::StatusOr<ApplyAuditEntry> OpenAudit(const ApplyRequester& requester,
                                            absl::string_view asterisk_host) override;
  absl::StatusOr<ApplyAuditEntry> RecordRejectedApply(const ApplyRequester& requester,
                                                      absl::string_view asterisk_host,
                                                      absl::Duration waited,
                                                      absl::string_view error_detail) override;
  absl::Status CloseAudit(ApplyAuditEntry& entry) override;
  absl::StatusOr<int> RecoverInterruptedApplies() override;
  absl::StatusOr<std::vector<ApplyAuditEntry>> ListAudit(int limit) override;
  absl::StatusOr<LatestApplies> LatestAudits() override;
  absl::StatusOr<std::vector<std::optional<ApplyAuditEntry>>> LatestHostSuccesses(
      const std::vector<std::string>& hosts, absl::string_view legacy_host) override;
  absl::StatusOr<bool> ClaimDriftCheck(absl::Duration interval,
                                       absl::string_view checker) override;
  absl::Status RecordDriftCheck(const DriftCheckSummary& summary) override;
  absl::StatusOr<std::optional<DriftCheckSummary>> LatestDriftCheck() override;

  // The drift check row.
  std::optional<absl::Time> drift_claimed_at;
  std::optional<DriftCheckSummary> drift_check;

  // When set, LockApply fails with it.
  std::optional<absl::Status> lock_failure;
  // When set, CloseAudit fails with it (and leaves the row as it was).
  std::optional<absl::Status> close_failure;
  // The audit rows, oldest first.
  std::vector<ApplyAuditEntry> rows;
  // Whether the lock is held right now.
  bool locked = false;
};

// A machine running Asterisk, in memory: files, and an Asterisk that loads
// the PJSIP objects and dialplan extensions of the files in place when told
// to reload. It runs the commands Apply sends (rm of temporaries, the commit
// script's mv lines, asterisk -rx and the concurrent live-state reads); any
// other command fails the test.
struct FakeHostState {
  std::map<std::string, std::string> files;
  std::vector<std::string> commands;  // every command run, in order
  int sessions_opened = 0;

  // Called first thing in every Open (e.g. to hold it until another host's
  // Open has begun).
  std::function<void()> on_open;
  // Failures on demand.
  std::optional<absl::Status> open_failure;
  std::optional<int> fail_create_file;  // index of the CreateFile call that fails
  std::optional<int> fail_rename;       // index of the commit script's mv that fails
  bool commit_connection_lost = false;  // the commit script runs, then the session drops
  bool daemon_down = false;             // asterisk -rx cannot reach the daemon
  bool daemon_stops_before_reload = false;  // ... from the first reload command on
  bool dialplan_reload_fails = false;   // the dialplan reload is refused
  // Objects a reload leaves out of the live state, as Asterisk does with an
  // object it rejects: "endpoint 1001", "dialplan 1001", ...
  std::set<std::string> rejected;

  // What the running Asterisk holds (set by reloads).
  std::set<std::string> live_endpoints, live_aors, live_auths, live_dialplan;
  int create_file_calls = 0;
  int file_reads = 0;  // files read (hashed or whole) by InspectHost
};

class FakeAsteriskHost : public AsteriskHost {
 public:
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> Open() override;
  FakeAsteriskHost() = default;
  explicit FakeAsteriskHost(std::string address) : address_(std::move(address)) {}
  std::string Describe() const override { return address_; }

  FakeHostState state;

 private:
  const std::string address_ = "fake://asterisk";
};

}  // namespace pbx::testing

#endif  // PBX_TESTS_UNIT_FAKE_SEAMS_H_
