#ifndef PBX_SERVER_STORE_SIP_SECRET_SEALING_H_
#define PBX_SERVER_STORE_SIP_SECRET_SEALING_H_

#include <string>

#include <pqxx/connection>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/secret_box.h"

namespace pbx {

// The associated data of a user's sealed SIP secret: it binds the ciphertext
// to that user, so one copied onto another row does not open.
std::string SipSecretContext(absl::string_view user_id);

// Opens a user's sealed SIP secret; INTERNAL (never the secret, never garbage)
// when it does not open, the details logged.
absl::StatusOr<std::string> OpenSipSecret(const SecretBox& secrets, absl::string_view user_id,
                                          absl::string_view sealed);

// Makes the stored SIP secrets what the server can serve, before it serves:
// seals every secret still stored in clear (rows written before secrets were
// sealed), then checks that every sealed one opens with the configured keys.
// FAILED_PRECONDITION when a secret is sealed under a key the server does not
// hold, DATA_LOSS when one does not open: the server must not start then.
absl::Status PrepareSipSecrets(pqxx::connection& connection, const SecretBox& secrets);

// Reseals every secret not sealed under the current key (after a key
// rotation); returns how many. The same errors as PrepareSipSecrets.
absl::StatusOr<int> ResealSipSecrets(pqxx::connection& connection, const SecretBox& secrets);

}  // namespace pbx

#endif  // PBX_SERVER_STORE_SIP_SECRET_SEALING_H_
