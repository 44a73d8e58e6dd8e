#ifndef PBX_SERVER_CORE_USER_H_
#define PBX_SERVER_CORE_USER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"

namespace pbx {

// What an administrator submits to create a user, before and after validation.
struct NewUser {
  std::string name;
  std::string email;
  std::map<std::string, std::string> metadata;
};

// A stored user together with the extension it owns.
struct UserRecord {
  std::string id;
  std::string tenant_id;
  std::string name;
  std::string email;
  std::map<std::string, std::string> metadata;
  int extension = 0;
  absl::Time created_at;
  absl::Time extension_allocated_at;
};

struct SipCredentials {
  std::string user_id;
  int extension = 0;
  // The SIP username is the extension number, as phones are configured by it.
  std::string username;
  std::string password;
};

struct CreatedUser {
  UserRecord user;
  SipCredentials sip_credentials;
};

}  // namespace pbx

#endif  // PBX_SERVER_CORE_USER_H_
