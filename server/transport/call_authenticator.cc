#include "server/transport/call_authenticator.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/transport/call_record.h"
#include "server/transport/request_id.h"

namespace pbx {
namespace {

constexpr char kAuthorization[] = "authorization";
constexpr char kPathKey[] = ":path";
// Where an admitted call's key travels from here to the handlers.
constexpr char kKeyIdProperty[] = "pbx-key-id";
constexpr char kKeyNameProperty[] = "pbx-key-name";
constexpr char kRoleProperty[] = "pbx-key-role";

absl::string_view Value(const grpc::AuthMetadataProcessor::InputMetadata& metadata,
                        absl::string_view key) {
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

std::string Property(const grpc::AuthContext& context, const char* name) {
  std::vector<grpc::string_ref> values = context.FindPropertyValues(name);
  return values.empty() ? std::string() : std::string(values[0].data(), values[0].size());
}

}  // namespace

grpc::Status CallAuthenticator::Process(const InputMetadata& metadata,
                                        grpc::AuthContext* context, OutputMetadata* consumed,
                                        OutputMetadata*) {
  const absl::Time start = absl::Now();
  const absl::string_view path = Value(metadata, kPathKey);
  grpc::Status admitted = Admit(metadata, path, context, consumed);
  if (!admitted.ok()) {
    RecordCall(metrics_, BoundedMethodName(path), static_cast<absl::StatusCode>(admitted.error_code()),
               absl::Now() - start, RequestIdFrom(metadata), std::nullopt);
  }
  return admitted;
}

grpc::Status CallAuthenticator::Admit(const InputMetadata& metadata, absl::string_view path,
                                      grpc::AuthContext* context, OutputMetadata* consumed) {
  const MethodRoles::Access access = roles_.Lookup(path);
  if (access.open) return grpc::Status::OK;
  absl::string_view token = Value(metadata, kAuthorization);
  if (!absl::ConsumePrefix(&token, "Bearer ") && !absl::ConsumePrefix(&token, "bearer ")) {
    token = {};
  }
  absl::StatusOr<Principal> caller = check_token_(absl::StripAsciiWhitespace(token));
  if (!caller.ok()) {
    return grpc::Status(static_cast<grpc::StatusCode>(caller.status().code()),
                        std::string(caller.status().message()));
  }
  if (!Grants(caller->role, access.role)) {
    return grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat("the API key ", caller->key_name, " has role ", RoleName(caller->role),
                     "; ", path, " needs ", RoleName(access.role)));
  }
  context->AddProperty(kKeyIdProperty, caller->key_id);
  context->AddProperty(kKeyNameProperty, caller->key_name);
  context->AddProperty(kRoleProperty, std::string(RoleName(caller->role)));
  consumed->insert({kAuthorization, std::string(Value(metadata, kAuthorization))});
  return grpc::Status::OK;
}

std::optional<Principal> CallerOf(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return std::nullopt;
  Principal caller{Property(*auth, kKeyIdProperty), Property(*auth, kKeyNameProperty),
                   RoleFromName(Property(*auth, kRoleProperty)).value_or(Role::kViewer)};
  if (caller.key_id.empty()) return std::nullopt;
  return caller;
}

}  // namespace pbx
