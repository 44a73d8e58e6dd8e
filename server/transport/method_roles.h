#ifndef PBX_SERVER_TRANSPORT_METHOD_ROLES_H_
#define PBX_SERVER_TRANSPORT_METHOD_ROLES_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/api_key.h"

namespace pbx {

// Who may call each method, as the protos say: every method of the portal's
// services carries (pbx.v1.required_role). Health and reflection are open:
// they show no user data, and load balancers and grpcurl need them without a
// key.
class MethodRoles {
 public:
  // The table of the services named (full names, e.g. "pbx.v1.UserService");
  // FAILED_PRECONDITION naming every method without a role, or a service this
  // binary does not know, so that a new method can never be open by mistake
  // (the server refuses to start).
  static absl::StatusOr<MethodRoles> For(const std::vector<std::string>& services);

  struct Access {
    bool open = false;
    // For a method that is not open: the least role. A method no service has
    // needs a valid key of any role (the server then answers UNIMPLEMENTED).
    Role role = Role::kViewer;
  };
  // For a path as gRPC names it: "/pbx.v1.UserService/CreateUser".
  Access Lookup(absl::string_view path) const;

  // Every method with its role, for tests that walk them all.
  const std::map<std::string, Role>& roles() const { return roles_; }

 private:
  std::map<std::string, Role> roles_;  // by path
};

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_METHOD_ROLES_H_
