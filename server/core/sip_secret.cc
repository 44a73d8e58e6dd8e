#include "server/core/sip_secret.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace pbx {
namespace {

constexpr absl::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
// The largest multiple of 62 that fits a byte: bytes at or above it are
// rejected so that every letter stays equally likely.
constexpr int kUnbiasedLimit = 256 - 256 % kAlphabet.size();

}  // namespace

void SystemRandomBytes(absl::Span<uint8_t> out) {
  size_t filled = 0;
  while (filled < out.size()) {
    ssize_t n = getrandom(out.data() + filled, out.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Without a CSPRNG no safe password can be made; refusing to continue
      // beats issuing a guessable one.
      std::cerr << "getrandom failed: " << std::strerror(errno) << std::endl;
      std::abort();
    }
    filled += static_cast<size_t>(n);
  }
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  SystemRandomBytes(absl::MakeSpan(reinterpret_cast<uint8_t*>(raw.data()), raw.size()));
  return absl::BytesToHexString(raw);
}

std::string NewUuidV4(const RandomBytes& random_bytes) {
  uint8_t bytes[16];
  random_bytes(absl::MakeSpan(bytes));
  bytes[6] = (bytes[6] & 0x0F) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3F) | 0x80;  // RFC 4122 variant
  const std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), 16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

std::string GenerateSipSecret(const RandomBytes& random_bytes) {
  std::string secret;
  secret.reserve(kSipSecretLength);
  uint8_t buffer[64];
  while (secret.size() < kSipSecretLength) {
    random_bytes(absl::MakeSpan(buffer));
    for (uint8_t byte : buffer) {
      if (byte >= kUnbiasedLimit) continue;
      secret.push_back(kAlphabet[byte % kAlphabet.size()]);
      if (secret.size() == kSipSecretLength) break;
    }
  }
  return secret;
}

}  // namespace pbx
