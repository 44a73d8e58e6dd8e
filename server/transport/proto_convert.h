#ifndef PBX_SERVER_TRANSPORT_PROTO_CONVERT_H_
#define PBX_SERVER_TRANSPORT_PROTO_CONVERT_H_

#include "pbx/v1/api_key_service.pb.h"
#include "pbx/v1/apply_service.pb.h"
#include "pbx/v1/user.pb.h"
#include "pbx/v1/user_service.pb.h"
#include "server/core/api_key.h"
#include "server/core/apply_audit.h"
#include "server/core/user.h"

namespace pbx {

// The one place where the core's records become pbx.v1 messages and back.

NewUser FromProto(const v1::CreateUserRequest& request);
void ToProto(const UserRecord& user, v1::User* proto);
void ToProto(const SipCredentials& credentials, v1::SipCredentials* proto);
void ToProto(const ApplyAuditEntry& entry, v1::ApplyAuditEntry* proto);
void ToProto(const ApiKeyRecord& key, v1::ApiKey* proto);

}  // namespace pbx

#endif  // PBX_SERVER_TRANSPORT_PROTO_CONVERT_H_
