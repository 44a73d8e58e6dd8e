#ifndef PBX_SERVER_CORE_SHA256_H_
#define PBX_SERVER_CORE_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pbx {

// Lower-case hex SHA-256 of `data` (OpenSSL).
std::string Sha256Hex(absl::string_view data);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_SHA256_H_
