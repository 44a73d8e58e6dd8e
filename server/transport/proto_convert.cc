#include "server/transport/proto_convert.h"

#include <cstdint>
#include <type_traits>
#include <variant>

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

NewUser UpdateValuesFromProto(const v1::User& user) {
  return NewUser{user.name(), user.email(), {user.metadata().begin(), user.metadata().end()}};
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
  proto->set_changed(entry.changed);
  proto->set_forced(entry.forced);
  for (const HostApplyResult& host : entry.hosts) {
    v1::ApplyHostResult* out = proto->add_hosts();
    out->set_name(host.name);
    out->set_address(host.address);
    out->set_outcome(ToProto(host.outcome));
    out->set_error_detail(host.error_detail);
    out->set_changed(host.changed);
    for (const ApplyPhase& phase : host.phases) ToProto(phase, out->add_phases());
    out->set_reload_output(host.reload_output);
    out->set_verification(host.verification);
  }
}

void ToProto(const HostApplyStatus& host, v1::HostApplyStatus* proto) {
  proto->set_name(host.name);
  proto->set_address(host.address);
  if (host.last_success) ToProto(*host.last_success, proto->mutable_last_success());
  proto->set_applied_content_hash(host.applied_content_hash);
  proto->set_pending_changes(host.pending_changes);
}

namespace {

// The preview's and each host's diff and files, into either message.
template <typename Message>
void PreviewToProto(const ConfigDiff& diff, const std::vector<PreviewFile>& files,
                    Message* proto) {
  for (int number : diff.added) proto->add_added_extensions(number);
  for (int number : diff.removed) proto->add_removed_extensions(number);
  for (const ExtensionChange& change : diff.changed) {
    v1::ExtensionChange* out = proto->add_changed_extensions();
    out->set_extension(change.number);
    for (const std::string& aspect : change.aspects) out->add_aspects(aspect);
  }
  for (const PreviewFile& file : files) {
    v1::FilePreview* out = proto->add_files();
    out->set_path(file.path);
    out->set_rendered_sha256(file.rendered_sha256);
    out->set_host_sha256(file.host_sha256.value_or(""));
    out->set_exists_on_host(file.host_sha256.has_value());
    out->set_differs(file.differs);
  }
}

}  // namespace

void ToProto(const ApplyPreview& preview, v1::PreviewApplyResponse* proto) {
  PreviewToProto(preview.diff, preview.files, proto);
  proto->set_would_write(preview.would_write);
  proto->set_would_reload(preview.would_write);
  proto->set_reason(preview.reason);
  proto->set_user_count(preview.user_count);
  proto->set_content_hash(preview.content_hash);
  for (const HostPreview& host : preview.hosts) {
    v1::HostPreview* out = proto->add_hosts();
    out->set_name(host.name);
    out->set_address(host.address);
    PreviewToProto(host.diff, host.files, out);
    out->set_would_write(host.would_write);
    out->set_would_reload(host.would_write);
    out->set_reason(host.reason);
    out->set_error_detail(host.error_detail);
  }
}

namespace {

v1::DriftKind ToProto(DriftKind kind) {
  switch (kind) {
    case DriftKind::kFileChanged: return v1::DRIFT_KIND_FILE_CHANGED;
    case DriftKind::kFileMissing: return v1::DRIFT_KIND_FILE_MISSING;
    case DriftKind::kEndpointMissing: return v1::DRIFT_KIND_ENDPOINT_MISSING;
    case DriftKind::kAorMissing: return v1::DRIFT_KIND_AOR_MISSING;
    case DriftKind::kAuthMissing: return v1::DRIFT_KIND_AUTH_MISSING;
    case DriftKind::kDialplanMissing: return v1::DRIFT_KIND_DIALPLAN_MISSING;
    case DriftKind::kUnexpectedObject: return v1::DRIFT_KIND_UNEXPECTED_OBJECT;
    case DriftKind::kPendingChanges: return v1::DRIFT_KIND_PENDING_CHANGES;
    case DriftKind::kHostUnreachable: return v1::DRIFT_KIND_HOST_UNREACHABLE;
  }
  return v1::DRIFT_KIND_UNSPECIFIED;
}

// A report's findings, counts and pending changes, into either message.
template <typename Message>
void DriftReportToProto(const DriftReport& report, Message* proto) {
  proto->set_in_sync(report.in_sync());
  for (const DriftFinding& finding : report.findings) {
    v1::DriftFinding* out = proto->add_findings();
    out->set_kind(ToProto(finding.kind));
    out->set_subject(finding.subject);
    out->set_detail(finding.detail);
    out->set_host(finding.host);
  }
  for (DriftKind kind : kAllDriftKinds) {
    (*proto->mutable_counts())[std::string(DriftKindName(kind))] = report.Count(kind);
  }
  if (report.Count(DriftKind::kPendingChanges) > 0) {
    proto->mutable_pending_changes()->set_added(report.pending.added);
    proto->mutable_pending_changes()->set_removed(report.pending.removed);
    proto->mutable_pending_changes()->set_changed(report.pending.changed);
  }
}

}  // namespace

void ToProto(const DriftStatus& drift, v1::GetApplyDriftResponse* proto) {
  DriftReportToProto(drift.report, proto);
  ToProto(drift.checked_at, proto->mutable_checked_at());
  proto->set_asterisk_host(drift.asterisk_host);
  for (const HostDriftReport& host : drift.hosts) {
    v1::HostDrift* out = proto->add_hosts();
    out->set_name(host.name);
    out->set_address(host.address);
    DriftReportToProto(host.report, out);
    out->set_error_detail(host.error);
  }
}

void ToProto(const CreatedUser& created, v1::CreateUserResponse* proto) {
  ToProto(created.user, proto->mutable_user());
  ToProto(created.sip_credentials, proto->mutable_sip_credentials());
}

namespace {

void ToProto(const AuditValue& value, google::protobuf::Value* proto) {
  std::visit(
      [proto](const auto& held) {
        using Held = std::decay_t<decltype(held)>;
        if constexpr (std::is_same_v<Held, std::monostate>) {
          proto->set_null_value(google::protobuf::NULL_VALUE);
        } else if constexpr (std::is_same_v<Held, std::string>) {
          proto->set_string_value(held);
        } else if constexpr (std::is_same_v<Held, int64_t>) {
          proto->set_number_value(static_cast<double>(held));
        } else {
          auto& fields = *proto->mutable_struct_value()->mutable_fields();
          for (const auto& [key, text] : held) fields[key].set_string_value(text);
        }
      },
      value);
}

}  // namespace

void ToProto(const UserChangeEvent& event, v1::AuditEvent* proto) {
  proto->set_id(event.id);
  ToProto(event.time, proto->mutable_time());
  proto->set_actor_key_id(event.actor.key_id);
  proto->set_actor_key_name(event.actor.key_name);
  proto->set_request_id(event.actor.request_id);
  proto->set_action(event.action);
  proto->set_user_id(event.user_id);
  proto->set_extension(event.extension);
  for (const FieldChange& change : event.changes) {
    v1::FieldChange* field = proto->add_changes();
    field->set_field(change.field);
    ToProto(change.old_value, field->mutable_old_value());
    ToProto(change.new_value, field->mutable_new_value());
  }
}

void ToProto(const UserRegistration& registration, v1::Registration* proto) {
  proto->set_user_id(registration.user_id);
  proto->set_extension(registration.extension);
  proto->set_registered(!registration.contacts.empty());
  for (const ContactRegistration& contact : registration.contacts) {
    v1::Contact* contact_proto = proto->add_contacts();
    contact_proto->set_uri(contact.uri);
    contact_proto->set_user_agent(contact.user_agent);
    contact_proto->set_status(contact.status);
    contact_proto->set_rtt_ms(contact.rtt_ms);
    if (contact.expires_at) ToProto(*contact.expires_at, contact_proto->mutable_expires_at());
    contact_proto->set_host(contact.host);
  }
  for (const std::string& host : registration.unread_hosts) proto->add_unread_hosts(host);
}

void ToProto(const RegistrationHost& host, v1::RegistrationHost* proto) {
  proto->set_name(host.name);
  proto->set_address(host.address);
  proto->set_error_detail(host.error_detail);
}

}  // namespace pbx
