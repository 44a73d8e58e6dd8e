#include "server/transport/call_authenticator.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/transport/call_record.h"
#include "server/transport/request_id.h"

namespace pbx {
namespace {

constexpr char kPathKey[] = ":path";

}  // namespace

absl::string_view MetadataValue(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                absl::string_view key) {
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

absl::string_view BearerToken(absl::string_view authorization) {
  if (!absl::ConsumePrefix(&authorization, "Bearer ") &&
      !absl::ConsumePrefix(&authorization, "bearer ")) {
    return {};
  }
  return absl::StripAsciiWhitespace(authorization);
}

grpc::Status CallAuthenticator::Process(const InputMetadata& metadata, grpc::AuthContext*,
                                        OutputMetadata*, OutputMetadata*) {
  const absl::Time start = absl::Now();
  const absl::string_view path = MetadataValue(metadata, kPathKey);
  grpc::Status admitted = Admit(metadata, path);
  if (!admitted.ok()) {
    RecordCall(metrics_, BoundedMethodName(path), static_cast<absl::StatusCode>(admitted.error_code()),
               absl::Now() - start, RequestIdFrom(metadata), std::nullopt);
  }
  return admitted;
}

grpc::Status CallAuthenticator::Admit(const InputMetadata& metadata, absl::string_view path) {
  const MethodRoles::Access access = roles_.Lookup(path);
  if (access.open) return grpc::Status::OK;
  absl::StatusOr<Principal> caller =
      check_token_(BearerToken(MetadataValue(metadata, kAuthorizationMetadataKey)));
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
  return grpc::Status::OK;
}

}  // namespace pbx
