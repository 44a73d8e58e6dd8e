#ifndef PBX_SERVER_STORE_USER_STORE_H_
#define PBX_SERVER_STORE_USER_STORE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/asterisk_config.h"
#include "server/core/user.h"

namespace pbx {

// Where users and extensions live. Ids passed in are already validated UUIDs.
class UserStore {
 public:
  virtual ~UserStore() = default;

  // Stores `user` with the lowest free extension and `sip_secret`.
  // ALREADY_EXISTS when the email is taken, RESOURCE_EXHAUSTED when no
  // extension is free.
  virtual absl::StatusOr<CreatedUser> CreateUser(const NewUser& user,
                                                 const std::string& sip_secret) = 0;
  virtual absl::StatusOr<UserRecord> GetUser(absl::string_view id) = 0;
  // Ordered by extension.
  virtual absl::StatusOr<std::vector<UserRecord>> ListUsers() = 0;
  // Deletes the user and frees its extension; NOT_FOUND when absent.
  virtual absl::Status DeleteUser(absl::string_view id) = 0;
  virtual absl::StatusOr<SipCredentials> GetSipCredentials(absl::string_view id) = 0;
  // Every extension with its secret, sorted by number: what Apply renders.
  virtual absl::StatusOr<std::vector<ProvisionedExtension>> ReadProvisioning() = 0;
  // How many extensions of the pool are allocated (for monitoring; one count
  // over at most kExtensionPoolSize rows).
  virtual absl::StatusOr<int> CountExtensions() = 0;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_USER_STORE_H_
