#include "server/transport/proto_convert.h"

#include "google/protobuf/util/time_util.h"

namespace pbx {
namespace {

void ToProto(absl::Time time, google::protobuf::Timestamp* proto) {
  *proto = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(time));
}

v1::ApplyOutcome ToProto(ApplyOutcome outcome) {
  switch (outcome) {
    case ApplyOutcome::kRunning: return v1::APPLY_OUTCOME_RUNNING;
    case ApplyOutcome::kSuccess: return v1::APPLY_OUTCOME_SUCCESS;
    case ApplyOutcome::kFailure: return v1::APPLY_OUTCOME_FAILURE;
    case ApplyOutcome::kInterrupted: return v1::APPLY_OUTCOME_INTERRUPTED;
  }
  return v1::APPLY_OUTCOME_UNSPECIFIED;
}

void ToProto(const ConfigFileRecord& file, v1::ConfigFileRecord* proto) {
  proto->set_path(file.path);
  proto->set_sha256(file.sha256);
  proto->set_size_bytes(file.size_bytes);
}

void ToProto(const ApplyPhase& phase, v1::ApplyPhase* proto) {
  proto->set_name(phase.name);
  proto->set_duration_us(phase.duration_us);
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

void ToProto(const ApiKeyRecord& key, v1::ApiKey* proto) {
  proto->set_id(key.id);
  proto->set_name(key.name);
  proto->set_role(std::string(RoleName(key.role)));
  ToProto(key.created_at, proto->mutable_created_at());
  if (key.last_used_at) ToProto(*key.last_used_at, proto->mutable_last_used_at());
}

void ToProto(const ApplyAuditEntry& entry, v1::ApplyAuditEntry* proto) {
  proto->set_id(entry.id);
  ToProto(entry.started_at, proto->mutable_started_at());
  if (entry.finished_at) ToProto(*entry.finished_at, proto->mutable_finished_at());
  proto->set_triggered_by(entry.triggered_by);
  proto->set_triggered_by_key_id(entry.triggered_by_key_id);
  proto->set_note(entry.note);
  proto->set_request_id(entry.request_id);
  proto->set_outcome(ToProto(entry.outcome));
  proto->set_error_detail(entry.error_detail);
  proto->set_user_count(entry.user_count);
  proto->set_content_hash(entry.content_hash);
  for (const ConfigFileRecord& file : entry.files) ToProto(file, proto->add_files());
  proto->set_reload_output(entry.reload_output);
  proto->set_verification(entry.verification);
  proto->set_duration_ms(entry.duration_ms);
  proto->set_asterisk_host(entry.asterisk_host);
  for (const ApplyPhase& phase : entry.phases) ToProto(phase, proto->add_phases());
}

}  // namespace pbx
