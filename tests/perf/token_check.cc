// pbx-bench-token-check: what checking an API token costs the server per call
// (tests/bench), measured on the code that runs for every call:
//   stage 1, the call authenticator (transport/call_authenticator.h): the
//     method's role, the bearer token, the key lookup (SHA-256 of the token,
//     a constant-time compare) and the role check;
//   stage 2, the call pipeline's second lookup of the same key
//     (transport/call_pipeline.h), which names the caller for the handlers.
// Both run against a TokenVerifier holding `--keys` live keys, as a server
// does after it read them from the database (no database on the hot path).
// Prints JSON: {"keys", "runs", "authenticator_ns": {p50, p99}, "lookup_ns":
// {p50, p99}, "per_call_ns": {p50, p99}}.
//
// Usage: pbx-bench-token-check [--keys N] [--runs N]

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pbx/v1/api_key_service.pb.h"
#include "pbx/v1/apply_service.pb.h"
#include "pbx/v1/user_service.pb.h"
#include "server/core/sip_secret.h"
#include "server/keys/token_verifier.h"
#include "server/transport/call_authenticator.h"
#include "server/transport/method_roles.h"

namespace {

// The keys a database would hold, in memory: the verifier reads them once.
class KeysInMemory : public pbx::ApiKeyStore {
 public:
  explicit KeysInMemory(std::vector<pbx::ActiveApiKey> keys) : keys_(std::move(keys)) {}
  absl::StatusOr<pbx::ApiKeyRecord> CreateKey(absl::string_view, pbx::Role, absl::string_view) override {
    return absl::UnimplementedError("read-only");
  }
  absl::StatusOr<std::optional<pbx::ApiKeyRecord>> CreateFirstAdminKey(absl::string_view,
                                                                       absl::string_view) override {
    return absl::UnimplementedError("read-only");
  }
  absl::StatusOr<std::vector<pbx::ApiKeyRecord>> ListKeys() override {
    return std::vector<pbx::ApiKeyRecord>();
  }
  absl::Status RevokeKey(absl::string_view) override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<pbx::ActiveApiKey>> ActiveKeys() override { return keys_; }
  absl::Status MarkUsed(const std::vector<std::string>&) override { return absl::OkStatus(); }

 private:
  std::vector<pbx::ActiveApiKey> keys_;
};

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
};

Percentiles Of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  auto at = [&](double q) { return values[static_cast<size_t>(q * (values.size() - 1))]; };
  return {at(0.5), at(0.99)};
}

std::string Json(const Percentiles& p) {
  return absl::StrFormat(R"({"p50": %.0f, "p99": %.0f})", p.p50, p.p99);
}

}  // namespace

int main(int argc, char** argv) {
  int keys = 1000;
  int runs = 200000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    int* target = arg == "--keys" ? &keys : arg == "--runs" ? &runs : nullptr;
    if (target == nullptr || !absl::SimpleAtoi(argv[i + 1], target) || *target < 1) {
      std::cerr << "usage: pbx-bench-token-check [--keys N] [--runs N]\n";
      return 2;
    }
  }
  std::vector<pbx::ActiveApiKey> stored;
  std::vector<std::string> tokens;
  for (int i = 0; i < keys; ++i) {
    tokens.push_back(pbx::GenerateApiToken());
    stored.push_back({pbx::ApiTokenHash(tokens.back()),
                      {pbx::NewUuidV4(), absl::StrCat("key-", i), pbx::Role::kOperator}});
  }
  KeysInMemory store(stored);
  pbx::TokenVerifier verifier(store);
  verifier.RefreshNow();
  // Links the services' descriptors in (the server does so through its
  // service implementations).
  (void)pbx::v1::CreateUserRequest::descriptor();
  (void)pbx::v1::ApplyRequest::descriptor();
  (void)pbx::v1::CreateApiKeyRequest::descriptor();
  auto roles = pbx::MethodRoles::For({"pbx.v1.UserService", "pbx.v1.ApplyService",
                                      "pbx.v1.ApiKeyService"});
  if (!roles.ok()) {
    std::cerr << roles.status() << "\n";
    return 1;
  }
  pbx::PortalMetrics metrics;
  pbx::CallAuthenticator authenticator(
      *roles, [&verifier](absl::string_view token) { return verifier.Verify(token); }, metrics);

  using Clock = std::chrono::steady_clock;
  auto ns = [](Clock::time_point a, Clock::time_point b) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  };
  std::vector<double> stage1, stage2, both;
  stage1.reserve(runs);
  stage2.reserve(runs);
  both.reserve(runs);
  const std::string path = "/pbx.v1.UserService/CreateUser";
  for (int i = 0; i < runs; ++i) {
    const std::string authorization = "Bearer " + tokens[static_cast<size_t>(i) % tokens.size()];
    grpc::AuthMetadataProcessor::InputMetadata metadata;
    metadata.insert({grpc::string_ref(":path"), grpc::string_ref(path)});
    metadata.insert({grpc::string_ref("authorization"), grpc::string_ref(authorization)});
    grpc::AuthMetadataProcessor::OutputMetadata consumed, response;
    const Clock::time_point t0 = Clock::now();
    const grpc::Status admitted = authenticator.Process(metadata, nullptr, &consumed, &response);
    const Clock::time_point t1 = Clock::now();
    const std::optional<pbx::Principal> caller = verifier.Cached(pbx::BearerToken(authorization));
    const Clock::time_point t2 = Clock::now();
    if (!admitted.ok() || !caller.has_value()) {
      std::cerr << "a valid token was refused: " << admitted.error_message() << "\n";
      return 1;
    }
    stage1.push_back(ns(t0, t1));
    stage2.push_back(ns(t1, t2));
    both.push_back(ns(t0, t2));
  }
  std::cout << absl::StrFormat(
                   R"({"keys": %d, "runs": %d, "authenticator_ns": %s, "lookup_ns": %s, "per_call_ns": %s})",
                   keys, runs, Json(Of(stage1)), Json(Of(stage2)), Json(Of(both)))
            << std::endl;
  return 0;
}
