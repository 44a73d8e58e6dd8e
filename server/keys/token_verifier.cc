#include "server/keys/token_verifier.h"

#include <openssl/crypto.h>

#include <vector>

#include "absl/time/clock.h"
#include "server/common/log.h"

namespace pbx {
namespace {

constexpr size_t kBucketChars = 16;

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError("missing or invalid API token");
}

}  // namespace

TokenVerifier::TokenVerifier(ApiKeyStore& store, TokenVerifierOptions options)
    : store_(store), options_(options) {}

TokenVerifier::~TokenVerifier() {
  if (thread_.joinable()) {
    stop_.Notify();
    thread_.join();
  }
}

void TokenVerifier::Start() {
  thread_ = std::thread([this] { Loop(); });
}

absl::StatusOr<Principal> TokenVerifier::Verify(absl::string_view token) {
  if (!IsWellFormedApiToken(token)) return Unauthenticated();
  const std::string hash = ApiTokenHash(token);
  const absl::Time arrived = absl::Now();
  if (std::optional<Principal> principal = Find(hash, Use::kRecord)) return *principal;
  // Perhaps a key created on another server since the last read.
  RefreshSince(arrived, options_.miss_refresh_spacing);
  if (std::optional<Principal> principal = Find(hash, Use::kRecord)) return *principal;
  absl::MutexLock lock(&mu_);
  if (snapshot_ == nullptr) return absl::UnavailableError("database unavailable; try again shortly");
  return Unauthenticated();
}

std::optional<Principal> TokenVerifier::Cached(absl::string_view token) {
  if (!IsWellFormedApiToken(token)) return std::nullopt;
  return Find(ApiTokenHash(token), Use::kIgnore);
}

std::optional<Principal> TokenVerifier::Find(const std::string& hash, Use use) {
  std::shared_ptr<const Snapshot> snapshot;
  {
    absl::MutexLock lock(&mu_);
    snapshot = snapshot_;
  }
  if (snapshot == nullptr) return std::nullopt;
  auto [first, last] = snapshot->equal_range(hash.substr(0, kBucketChars));
  for (auto it = first; it != last; ++it) {
    const std::string& stored = it->second.token_hash;
    if (stored.size() == hash.size() &&
        CRYPTO_memcmp(stored.data(), hash.data(), hash.size()) == 0) {
      if (use == Use::kRecord) {
        absl::MutexLock lock(&mu_);
        used_.insert(it->second.principal.key_id);
      }
      return it->second.principal;
    }
  }
  return std::nullopt;
}

void TokenVerifier::Refresh() {
  const absl::Time started = absl::Now();
  absl::StatusOr<std::vector<ActiveApiKey>> keys = store_.ActiveKeys();
  if (!keys.ok()) {
    // Keep the keys last read: a database outage must not lock everyone out of
    // what they may still do (reads fail by themselves anyway).
    LogWarning("cannot read the API keys", {{"error", keys.status().message()}});
    return;
  }
  auto snapshot = std::make_shared<Snapshot>();
  for (ActiveApiKey& key : *keys) {
    std::string bucket = key.token_hash.substr(0, kBucketChars);
    snapshot->emplace(std::move(bucket), std::move(key));
  }
  absl::MutexLock lock(&mu_);
  snapshot_ = std::move(snapshot);
  refreshed_at_ = started;
}

void TokenVerifier::RefreshSince(absl::Time since, absl::Duration spacing) {
  absl::MutexLock refreshing(&refresh_mu_);  // callers queue here behind one read
  absl::Time last;
  {
    absl::MutexLock lock(&mu_);
    last = refreshed_at_;
  }
  if (last >= since) return;  // a read that began after `since` already ended
  // One that began after `since` and failed (the database is down): waiting
  // for another would queue every caller behind one attempt each.
  if (attempted_at_ >= since) return;
  absl::SleepFor(attempted_at_ + spacing - absl::Now());  // nothing when it is long past
  attempted_at_ = absl::Now();
  Refresh();
}

void TokenVerifier::RefreshNow() {
  absl::MutexLock refreshing(&refresh_mu_);
  attempted_at_ = absl::Now();
  Refresh();
}

void TokenVerifier::FlushUsed() {
  std::set<std::string> used;
  {
    absl::MutexLock lock(&mu_);
    used.swap(used_);
  }
  if (used.empty()) return;
  if (absl::Status marked = store_.MarkUsed({used.begin(), used.end()}); !marked.ok()) {
    absl::MutexLock lock(&mu_);
    used_.insert(used.begin(), used.end());  // try again next time
  }
}

void TokenVerifier::Loop() {
  RefreshNow();
  absl::Time next_flush = absl::Now() + options_.mark_used_interval;
  while (!stop_.WaitForNotificationWithTimeout(options_.refresh_interval)) {
    RefreshSince(absl::Now() - options_.refresh_interval / 2, absl::ZeroDuration());
    if (absl::Now() >= next_flush) {
      FlushUsed();
      next_flush = absl::Now() + options_.mark_used_interval;
    }
  }
  FlushUsed();
}

}  // namespace pbx
