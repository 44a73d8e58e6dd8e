#ifndef PBX_SERVER_STORE_SECRET_BOX_H_
#define PBX_SERVER_STORE_SECRET_BOX_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pbx {

// Encrypts the SIP passwords the store keeps (AES-256-GCM, OpenSSL EVP), so a
// dump of the database holds none in clear. A sealed value names the key that
// sealed it:
//   v1.<key id>.<base64url(12-byte nonce | ciphertext | 16-byte tag)>
// where the key id is the first 8 bytes of the key's SHA-256, in hex. The
// associated data binds a value to its row, so a ciphertext copied into
// another row does not open.
//
// Holds the current key, which seals, and optionally the previous one, which
// only opens: during a key rotation values sealed under either are read, and
// `pbx-server rotate-secrets` reseals them all under the current key.
class SecretBox {
 public:
  static constexpr size_t kKeyBytes = 32;

  // Keys of exactly 32 bytes. INVALID_ARGUMENT otherwise.
  static absl::StatusOr<SecretBox> FromKeys(std::string current,
                                            std::optional<std::string> previous = std::nullopt);
  // Reads a key file: 32 raw bytes, or 64 hex digits, or 32 bytes in base64
  // (a trailing newline is ignored). The message names the file, never the
  // key.
  static absl::StatusOr<std::string> ReadKeyFile(const std::string& path);
  // The current key from its file and, when previous_path is not empty, the
  // one it replaces from its own.
  static absl::StatusOr<SecretBox> FromKeyFiles(const std::string& current_path,
                                                const std::string& previous_path);

  std::string Seal(absl::string_view plaintext, absl::string_view associated_data) const;
  // DATA_LOSS when the value is malformed or does not open (tampered, or
  // sealed for another row); FAILED_PRECONDITION when neither configured key
  // sealed it (the message names the key id it needs).
  absl::StatusOr<std::string> Open(absl::string_view sealed,
                                   absl::string_view associated_data) const;

  // Whether `sealed` was sealed under the current key (else it needs resealing).
  bool SealedWithCurrentKey(absl::string_view sealed) const;
  const std::string& current_key_id() const { return current_id_; }

 private:
  SecretBox(std::string current, std::optional<std::string> previous);

  std::string current_;
  std::string current_id_;
  std::optional<std::string> previous_;
  std::string previous_id_;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_SECRET_BOX_H_
