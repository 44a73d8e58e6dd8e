#ifndef PBX_SERVER_USERS_USER_OPERATIONS_H_
#define PBX_SERVER_USERS_USER_OPERATIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/sip_secret.h"
#include "server/core/user.h"
#include "server/store/user_store.h"

namespace pbx {

// The use cases behind UserService, free of any transport: each validates its
// input, then asks the store. Bad input never reaches the store.
class UserOperations {
 public:
  explicit UserOperations(UserStore& store,
                          RandomBytes random_bytes = SystemRandomBytes)
      : store_(store), random_bytes_(std::move(random_bytes)) {}

  absl::StatusOr<CreatedUser> CreateUser(const NewUser& input);
  absl::StatusOr<UserRecord> GetUser(absl::string_view id);
  absl::StatusOr<std::vector<UserRecord>> ListUsers();
  absl::Status DeleteUser(absl::string_view id);
  absl::StatusOr<SipCredentials> GetSipCredentials(absl::string_view id);

 private:
  UserStore& store_;
  RandomBytes random_bytes_;
};

}  // namespace pbx

#endif  // PBX_SERVER_USERS_USER_OPERATIONS_H_
