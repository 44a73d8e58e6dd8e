#ifndef PBX_SERVER_APP_SERVER_CREDENTIALS_H_
#define PBX_SERVER_APP_SERVER_CREDENTIALS_H_

#include <memory>

#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "server/app/config.h"

namespace pbx {

// The gRPC listener's credentials: TLS (mTLS with a client CA) when a
// certificate is configured, else plaintext for loopback peers only (gRPC's
// local credentials, which refuse any other peer). Either kind runs the call
// authenticator (an AuthMetadataProcessor), so every call needs its API token
// whatever the transport. FAILED_PRECONDITION naming a file that cannot be
// read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsConfig& tls);

}  // namespace pbx

#endif  // PBX_SERVER_APP_SERVER_CREDENTIALS_H_
