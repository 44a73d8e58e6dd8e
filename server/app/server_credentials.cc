#include "server/app/server_credentials.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "server/common/private_file.h"

namespace pbx {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  absl::StatusOr<std::optional<std::string>> read = ReadFileIfExists(path);
  if (!read.ok() || !read->has_value() || (*read)->empty()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read the TLS ", what, " ", path));
  }
  return std::move(**read);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsConfig& tls) {
  if (!tls.enabled()) return grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  absl::StatusOr<std::string> cert = ReadPem(tls.cert_file, "certificate (PBX_TLS_CERT_FILE)");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(tls.key_file, "key (PBX_TLS_KEY_FILE)");
  if (!key.ok()) return key.status();
  grpc_ssl_client_certificate_request_type request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  std::string client_ca;
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(tls.client_ca_file, "client CA (PBX_TLS_CLIENT_CA_FILE)");
    if (!ca.ok()) return ca.status();
    client_ca = std::move(*ca);
    request = tls.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                      : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  grpc::SslServerCredentialsOptions options(request);
  options.pem_root_certs = client_ca;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(options);
}

}  // namespace pbx
