#ifndef PBX_SERVER_TRANSPORT_PROTO_CONVERT_H_
#define PBX_SERVER_TRANSPORT_PROTO_CONVERT_H_

#include "pbx/v1/api_key_service.pb.h"
#include "pbx/v1/audit_service.pb.h"
#include "pbx/v1/apply_service.pb.h"
#include "pbx/v1/registration_service.pb.h"
#include "pbx/v1/user.pb.h"
#include "pbx/v1/user_service.pb.h"
#include "server/apply/apply_inspection.h"
#include "server/apply/apply_operations.h"
#include "server/core/api_key.h"
#include "server/core/apply_audit.h"
#include "server/core/registrations.h"
#include "server/core/user.h"
#include "server/core/user_changes.h"

namespace pbx {

// The one place where the core's records become pbx.v1 messages and back.

NewUser FromProto(const v1::CreateUserRequest& request);
// The fields of `user` an update may take (the mask says which it does).
NewUser UpdateValuesFromProto(const v1::User& user);
void ToProto(const UserRecord& user, v1::User* proto);
void ToProto(const SipCredentials& credentials, v1::SipCredentials* proto);
void ToProto(const ApplyAuditEntry& entry, v1::ApplyAuditEntry* proto);
void ToProto(const HostApplyStatus& host, v1::HostApplyStatus* proto);
void ToProto(const ApplyPreview& preview, v1::PreviewApplyResponse* proto);
void ToProto(const DriftStatus& drift, v1::GetApplyDriftResponse* proto);
void ToProto(const ApiKeyRecord& key, v1::ApiKey* proto);
void ToProto(const CreatedUser& created, v1::CreateUserResponse* proto);
void ToProto(const UserChangeEvent& event, v1::AuditEvent* proto);
void ToProto(const UserRegistration& registration, v1::Registration* proto);
void ToProto(const RegistrationHost& host, v1::RegistrationHost* proto);

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_PROTO_CONVERT_H_
