#include "server/transport/proto_convert.h"

#include "google/protobuf/util/time_util.h"

namespace pbx {
namespace {

void ToProto(absl::Time time, google::protobuf::Timestamp* proto) {
  *proto = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(time));
}

}  // namespace

NewUser FromProto(const v1::CreateUserRequest& request) {
  return NewUser{request.name(), request.email(),
                 {request.metadata().begin(), request.metadata().end()}};
}

void ToProto(const UserRecord& user, v1::User* proto) {
  proto->set_id(user.id);
  proto->set_tenant_id(user.tenant_id);
  proto->set_name(user.name);
  proto->set_email(user.email);
  proto->mutable_metadata()->insert(user.metadata.begin(), user.metadata.end());
  proto->set_extension(user.extension);
  ToProto(user.created_at, proto->mutable_created_at());
  ToProto(user.extension_allocated_at, proto->mutable_extension_allocated_at());
}

void ToProto(const SipCredentials& credentials, v1::SipCredentials* proto) {
  proto->set_user_id(credentials.user_id);
  proto->set_extension(credentials.extension);
  proto->set_username(credentials.username);
  proto->set_password(credentials.password);
}

}  // namespace pbx
