#ifndef PBX_SERVER_STORE_USER_STORE_H_
#define PBX_SERVER_STORE_USER_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/asterisk_config.h"
#include "server/core/idempotency.h"
#include "server/core/user.h"
#include "server/core/user_changes.h"

namespace pbx {

// Where users and extensions live. Ids passed in are already validated UUIDs.
class UserStore {
 public:
  virtual ~UserStore() = default;

  // Stores `users` with the lowest free extensions, in order, each with its
  // secret (sip_secrets[i]) and a change event of `action` (kActionCreate or
  // kActionBatchCreate) by `actor`: all in one transaction, or nothing.
  // ALREADY_EXISTS when an email is taken, RESOURCE_EXHAUSTED (pool error
  // info) when fewer extensions are free than users. With `validate_only`
  // everything is checked and nothing stored (the answer is empty). With a
  // key, a request already made with it by the same API key is answered
  // again (the same users, their secrets as they are now; recorded as
  // credential reads), and another request with it is ALREADY_EXISTS.
  struct CreateOptions {
    const ChangeActor& actor;
    absl::string_view action;
    const std::optional<IdempotencyKey>& key;
    bool validate_only = false;
  };
  virtual absl::StatusOr<std::vector<CreatedUser>> CreateUsers(
      const std::vector<NewUser>& users, const std::vector<std::string>& sip_secrets,
      const CreateOptions& options) = 0;
  virtual absl::StatusOr<UserRecord> GetUser(absl::string_view id) = 0;
  // Ordered by extension.
  virtual absl::StatusOr<std::vector<UserRecord>> ListUsers() = 0;
  // Changes the fields `patch` holds and records what changed (nothing when
  // nothing did). NOT_FOUND, or ALREADY_EXISTS when the email is taken.
  virtual absl::StatusOr<UserRecord> UpdateUser(absl::string_view id, const UserPatch& patch,
                                                const ChangeActor& actor) = 0;
  // Deletes the user, frees its extension and records it; NOT_FOUND when absent.
  virtual absl::Status DeleteUser(absl::string_view id, const ChangeActor& actor) = 0;
  // Reads the credentials, and records that `actor` read them.
  virtual absl::StatusOr<SipCredentials> GetSipCredentials(absl::string_view id,
                                                           const ChangeActor& actor) = 0;
  // Replaces the user's SIP secret, recorded; NOT_FOUND when absent.
  virtual absl::StatusOr<SipCredentials> ReplaceSipSecret(absl::string_view id,
                                                          const std::string& sip_secret,
                                                          const ChangeActor& actor) = 0;
  // The change audit, newest first; only `user_id`'s events unless empty.
  virtual absl::StatusOr<std::vector<UserChangeEvent>> ListChangeEvents(
      int limit, absl::string_view user_id) = 0;
  // Every extension with its secret, sorted by number: what Apply renders.
  virtual absl::StatusOr<std::vector<ProvisionedExtension>> ReadProvisioning() = 0;
  // ReadProvisioning with a fingerprint of what it read (every number, user
  // and sealed secret), both from one statement, so they always belong
  // together. When the fingerprint equals `known`, the extensions are not
  // sent (nor unsealed): `changed` is false and `extensions` empty.
  struct Provisioning {
    std::string fingerprint;
    bool changed = true;
    std::vector<ProvisionedExtension> extensions;
  };
  virtual absl::StatusOr<Provisioning> ReadProvisioningUnless(absl::string_view known) = 0;
  // How many extensions of the pool are allocated (for monitoring; one count
  // over at most kExtensionPoolSize rows).
  virtual absl::StatusOr<int> CountExtensions() = 0;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_USER_STORE_H_
