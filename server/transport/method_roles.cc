#include "server/transport/method_roles.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <google/protobuf/descriptor.h>

#include "pbx/v1/access.pb.h"

namespace pbx {
namespace {

// Services anyone may call: they hold no user data.
constexpr absl::string_view kOpenServices[] = {
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
};

std::optional<Role> RoleOf(v1::Role role) {
  switch (role) {
    case v1::ROLE_VIEWER: return Role::kViewer;
    case v1::ROLE_OPERATOR: return Role::kOperator;
    case v1::ROLE_ADMIN: return Role::kAdmin;
    default: return std::nullopt;
  }
}

}  // namespace

absl::StatusOr<MethodRoles> MethodRoles::For(const std::vector<std::string>& services) {
  MethodRoles table;
  std::vector<std::string> without_role;
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("unknown service ", name));
    }
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      const std::optional<Role> role =
          RoleOf(method->options().GetExtension(v1::required_role));
      if (!role) {
        without_role.push_back(method->full_name());
        continue;
      }
      table.roles_[absl::StrCat("/", service->full_name(), "/", method->name())] = *role;
    }
  }
  if (!without_role.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("methods without a (pbx.v1.required_role) option: ",
                     absl::StrJoin(without_role, ", ")));
  }
  return table;
}

MethodRoles::Access MethodRoles::Lookup(absl::string_view path) const {
  for (absl::string_view open : kOpenServices) {
    if (absl::StartsWith(path, open)) return {true, Role::kViewer};
  }
  auto it = roles_.find(std::string(path));
  return {false, it == roles_.end() ? Role::kViewer : it->second};
}

}  // namespace pbx
