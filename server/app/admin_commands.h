#ifndef PBX_SERVER_APP_ADMIN_COMMANDS_H_
#define PBX_SERVER_APP_ADMIN_COMMANDS_H_

#include <string>
#include <vector>

#include "server/app/config.h"

namespace pbx {

// `pbx-server create-admin-key --token-file PATH [--name NAME]`: the first
// admin key (named "admin" unless given), see BootstrapAdminKey: with the
// token PATH holds, or a new one written to PATH. When an admin key exists it
// creates nothing and exits 0.
int CreateAdminKeyCommand(const ServerConfig& config, const std::vector<std::string>& args);

// `pbx-server rotate-secrets`: reseals every SIP secret under the key of
// PBX_SECRET_KEY_FILE; the ones sealed under PBX_SECRET_PREVIOUS_KEY_FILE
// (the key being replaced) are opened with it. Prints how many.
int RotateSecretsCommand(const ServerConfig& config, const std::vector<std::string>& args);

}  // namespace pbx

#endif  // PBX_SERVER_APP_ADMIN_COMMANDS_H_
