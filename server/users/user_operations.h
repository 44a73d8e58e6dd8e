#ifndef PBX_SERVER_USERS_USER_OPERATIONS_H_
#define PBX_SERVER_USERS_USER_OPERATIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/sip_secret.h"
#include "server/core/user.h"
#include "server/core/user_changes.h"
#include "server/store/user_store.h"

namespace pbx {

// The use cases behind UserService and the change audit, free of any
// transport: each validates its input, then asks the store. Bad input never
// reaches the store. Every change names its actor, recorded with it.
class UserOperations {
 public:
  explicit UserOperations(UserStore& store,
                          RandomBytes random_bytes = SystemRandomBytes)
      : store_(store), random_bytes_(std::move(random_bytes)) {}

  // `request_id` is the optional idempotency key (AIP-155), not the call's id.
  absl::StatusOr<CreatedUser> CreateUser(const NewUser& input, absl::string_view request_id,
                                         const ChangeActor& actor);
  absl::StatusOr<std::vector<CreatedUser>> BatchCreateUsers(const std::vector<NewUser>& inputs,
                                                            absl::string_view request_id,
                                                            bool validate_only,
                                                            const ChangeActor& actor);
  absl::StatusOr<UserRecord> GetUser(absl::string_view id);
  absl::StatusOr<std::vector<UserRecord>> ListUsers();
  // Changes the fields `mask_paths` names to their values in `values`.
  absl::StatusOr<UserRecord> UpdateUser(absl::string_view id,
                                        const std::vector<std::string>& mask_paths,
                                        const NewUser& values, const ChangeActor& actor);
  absl::Status DeleteUser(absl::string_view id, const ChangeActor& actor);
  absl::StatusOr<SipCredentials> GetSipCredentials(absl::string_view id, const ChangeActor& actor);
  // A new random SIP secret, as strong as the one made at create.
  absl::StatusOr<SipCredentials> RotateSipCredentials(absl::string_view id,
                                                      const ChangeActor& actor);
  // The change audit, newest first: `limit` 0 for the default page, at most
  // kMaxAuditPage; only `user_id`'s events unless it is empty.
  absl::StatusOr<std::vector<UserChangeEvent>> ListChangeEvents(int limit,
                                                                absl::string_view user_id);

 private:
  absl::StatusOr<std::vector<CreatedUser>> Create(const std::vector<NewUser>& users,
                                                  absl::string_view method,
                                                  absl::string_view request_id, bool validate_only,
                                                  absl::string_view action,
                                                  const ChangeActor& actor);

  UserStore& store_;
  RandomBytes random_bytes_;
};

}  // namespace pbx

#endif  // PBX_SERVER_USERS_USER_OPERATIONS_H_
