#include "server/store/secret_box.h"

#include <openssl/evp.h>

#include <memory>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/private_file.h"
#include "server/core/sha256.h"
#include "server/core/sip_secret.h"

namespace pbx {
namespace {

constexpr absl::string_view kFormat = "v1";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

std::string KeyId(absl::string_view key) { return Sha256Hex(key).substr(0, 16); }

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status NotOpened() {
  return absl::DataLossError("a sealed SIP secret does not open: it was altered or copied");
}

}  // namespace

absl::StatusOr<SecretBox> SecretBox::FromKeys(std::string current,
                                             std::optional<std::string> previous) {
  if (current.size() != kKeyBytes || (previous && previous->size() != kKeyBytes)) {
    return absl::InvalidArgumentError("a secret key must be exactly 32 bytes");
  }
  return SecretBox(std::move(current), std::move(previous));
}

absl::StatusOr<std::string> SecretBox::ReadKeyFile(const std::string& path) {
  absl::StatusOr<std::optional<std::string>> read = ReadFileIfExists(path);
  if (!read.ok() || !read->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read the key file ", path));
  }
  const std::string& raw = **read;
  if (raw.size() == kKeyBytes) return raw;
  const std::string text(absl::StripTrailingAsciiWhitespace(raw));
  std::string decoded;
  if (text.size() == 2 * kKeyBytes && absl::c_all_of(text, absl::ascii_isxdigit)) {
    return absl::HexStringToBytes(text);
  }
  if (absl::Base64Unescape(text, &decoded) && decoded.size() == kKeyBytes) return decoded;
  return absl::FailedPreconditionError(absl::StrCat(
      "the key file ", path, " holds no 32-byte key (32 raw bytes, 64 hex digits or base64)"));
}

absl::StatusOr<SecretBox> SecretBox::FromKeyFiles(const std::string& current_path,
                                                 const std::string& previous_path) {
  absl::StatusOr<std::string> current = ReadKeyFile(current_path);
  if (!current.ok()) return current.status();
  std::optional<std::string> previous;
  if (!previous_path.empty()) {
    absl::StatusOr<std::string> read = ReadKeyFile(previous_path);
    if (!read.ok()) return read.status();
    previous = std::move(*read);
  }
  return FromKeys(std::move(*current), std::move(previous));
}

SecretBox::SecretBox(std::string current, std::optional<std::string> previous)
    : current_(std::move(current)),
      current_id_(KeyId(current_)),
      previous_(std::move(previous)),
      previous_id_(previous_ ? KeyId(*previous_) : "") {}

std::string SecretBox::Seal(absl::string_view plaintext,
                            absl::string_view associated_data) const {
  std::string nonce(kNonceBytes, '\0');
  SystemRandomBytes(absl::MakeSpan(reinterpret_cast<uint8_t*>(nonce.data()), nonce.size()));
  std::string ciphertext(plaintext.size(), '\0');
  std::string tag(kTagBytes, '\0');
  CipherContext context(EVP_CIPHER_CTX_new());
  int length = 0;
  // Each call fails only on allocation failure or misuse; a SIP secret must
  // never be stored unencrypted, so either is fatal.
  const bool ok =
      context != nullptr &&
      EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_EncryptInit_ex(context.get(), nullptr, nullptr, Bytes(current_), Bytes(nonce)) == 1 &&
      EVP_EncryptUpdate(context.get(), nullptr, &length, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) == 1 &&
      EVP_EncryptUpdate(context.get(), reinterpret_cast<unsigned char*>(ciphertext.data()),
                        &length, Bytes(plaintext), static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(context.get(), nullptr, &length) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag.data()) == 1;
  if (!ok) std::abort();
  return absl::StrCat(kFormat, ".", current_id_, ".",
                      absl::WebSafeBase64Escape(absl::StrCat(nonce, ciphertext, tag)));
}

absl::StatusOr<std::string> SecretBox::Open(absl::string_view sealed,
                                            absl::string_view associated_data) const {
  const std::vector<absl::string_view> parts = absl::StrSplit(sealed, '.');
  if (parts.size() != 3 || parts[0] != kFormat) return NotOpened();
  const std::string* key = nullptr;
  if (parts[1] == current_id_) {
    key = &current_;
  } else if (previous_ && parts[1] == previous_id_) {
    key = &*previous_;
  } else {
    return absl::FailedPreconditionError(absl::StrCat(
        "a SIP secret is sealed under key ", parts[1],
        ", which neither PBX_SECRET_KEY_FILE (key ", current_id_,
        ") nor PBX_SECRET_PREVIOUS_KEY_FILE holds"));
  }
  std::string box;
  if (!absl::WebSafeBase64Unescape(parts[2], &box) || box.size() < kNonceBytes + kTagBytes) {
    return NotOpened();
  }
  const absl::string_view nonce = absl::string_view(box).substr(0, kNonceBytes);
  const absl::string_view ciphertext =
      absl::string_view(box).substr(kNonceBytes, box.size() - kNonceBytes - kTagBytes);
  std::string tag = box.substr(box.size() - kTagBytes);
  std::string plaintext(ciphertext.size(), '\0');
  CipherContext context(EVP_CIPHER_CTX_new());
  int length = 0;
  const bool ok =
      context != nullptr &&
      EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(context.get(), nullptr, nullptr, Bytes(*key), Bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(context.get(), nullptr, &length, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) == 1 &&
      EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(plaintext.data()),
                        &length, Bytes(ciphertext), static_cast<int>(ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(context.get(), nullptr, &length) == 1;
  if (!ok) return NotOpened();
  return plaintext;
}

bool SecretBox::SealedWithCurrentKey(absl::string_view sealed) const {
  const std::vector<absl::string_view> parts = absl::StrSplit(sealed, '.');
  return parts.size() == 3 && parts[0] == kFormat && parts[1] == current_id_;
}

}  // namespace pbx
