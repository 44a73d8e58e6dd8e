#ifndef PBX_SERVER_CORE_SIP_SECRET_H_
#define PBX_SERVER_CORE_SIP_SECRET_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/types/span.h"

namespace pbx {

// 24 characters of a 62-letter alphabet carry 24 * log2(62) ~ 142.9 bits.
inline constexpr int kSipSecretLength = 24;

// Fills its argument with random bytes.
using RandomBytes = std::function<void(absl::Span<uint8_t>)>;

// Bytes from the kernel's CSPRNG (getrandom(2)).
void SystemRandomBytes(absl::Span<uint8_t> out);

// `bytes` random bytes from SystemRandomBytes, as lowercase hex.
std::string RandomHex(size_t bytes);

// A random (version 4) UUID in its canonical lower-case form.
std::string NewUuidV4(const RandomBytes& random_bytes = SystemRandomBytes);

// A SIP password drawn uniformly from [A-Za-z0-9]: no character of it can
// change the structure of an Asterisk config line.
std::string GenerateSipSecret(const RandomBytes& random_bytes = SystemRandomBytes);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_SIP_SECRET_H_
