#ifndef PBX_SERVER_KEYS_TOKEN_VERIFIER_H_
#define PBX_SERVER_KEYS_TOKEN_VERIFIER_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/core/api_key.h"
#include "server/store/api_key_store.h"

namespace pbx {

struct TokenVerifierOptions {
  // How often the live keys are read again: a key revoked on any server stops
  // working here within this time.
  absl::Duration refresh_interval = absl::Seconds(2);
  // An unknown token (a key just created on another server, or a guess)
  // waits for a read of the keys that began after it arrived; such reads
  // start at most this often, so guesses cannot flood the database.
  absl::Duration miss_refresh_spacing = absl::Milliseconds(250);
  // How often the keys used since are written to last_used_at.
  absl::Duration mark_used_interval = absl::Minutes(1);
};

// Checks bearer tokens against the live API keys without a database round
// trip on the hot path: it holds every live key's token hash in memory,
// refreshed in the background, and compares hashes in constant time.
class TokenVerifier {
 public:
  TokenVerifier(ApiKeyStore& store, TokenVerifierOptions options = {});
  ~TokenVerifier();
  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

  // Starts the background refresh (and last_used_at writes).
  void Start();

  // The key `token` belongs to. UNAUTHENTICATED for a malformed, unknown or
  // revoked token, with one message whatever the reason; UNAVAILABLE while
  // the keys were never read because the database is down.
  absl::StatusOr<Principal> Verify(absl::string_view token);

  // The key `token` belongs to among the keys in memory, for a token Verify
  // admitted moments ago: never reads the database, never waits, and records
  // no use (Verify did). nullopt when the token is not (or no longer) there.
  std::optional<Principal> Cached(absl::string_view token);

  // Reads the keys again now (after a create or revoke on this server).
  void RefreshNow();

 private:
  // Keys by the first 16 hex digits of their hash: a lookup learns nothing
  // about a token from its timing; the whole hash is then compared in
  // constant time.
  using Snapshot = std::unordered_multimap<std::string, ActiveApiKey>;

  enum class Use { kRecord, kIgnore };
  std::optional<Principal> Find(const std::string& hash, Use use);
  void Refresh();
  // Makes sure the keys were read after `since`: waits for, or starts, such
  // a read, starting none sooner than `spacing` after the previous one.
  void RefreshSince(absl::Time since, absl::Duration spacing);
  void FlushUsed();
  void Loop();

  ApiKeyStore& store_;
  const TokenVerifierOptions options_;

  absl::Mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  // When the read behind the current snapshot began.
  absl::Time refreshed_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::set<std::string> used_ ABSL_GUARDED_BY(mu_);  // key ids since the last flush

  absl::Mutex refresh_mu_;  // one read of the keys at a time
  // When the last read began, whether it worked or not: the spacing counts from it.
  absl::Time attempted_at_ ABSL_GUARDED_BY(refresh_mu_) = absl::InfinitePast();
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace pbx

#endif  // PBX_SERVER_KEYS_TOKEN_VERIFIER_H_
