#include "server/store/sip_secret_sealing.h"

#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/store/advisory_locks.h"
#include "server/store/pg_errors.h"

namespace pbx {
namespace {

// Every stored secret, opened or sealed anew under the current key; `reseal`
// also reseals those sealed under another key. Returns how many rows changed.
absl::StatusOr<int> SealAll(pqxx::connection& connection, const SecretBox& secrets,
                            bool reseal) {
  try {
    pqxx::work transaction(connection);
    // One sealing at a time, and no user created meanwhile (creates take the
    // same lock), so no row is missed.
    transaction.exec_params("SELECT pg_advisory_xact_lock($1)", kExtensionAllocationLockKey);
    const pqxx::result rows = transaction.exec(
        "SELECT number, user_id::text, sip_secret, sip_secret_sealed FROM extensions"
        " ORDER BY number");
    int changed = 0;
    for (const pqxx::row& row : rows) {
      const std::string user_id = row[1].as<std::string>();
      std::string secret;
      bool store = false;
      if (!row[2].is_null()) {
        secret = row[2].as<std::string>();
        store = true;
      } else {
        const std::string sealed = row[3].as<std::string>();
        absl::StatusOr<std::string> opened = secrets.Open(sealed, SipSecretContext(user_id));
        if (!opened.ok()) {
          return absl::Status(opened.status().code(),
                              absl::StrCat("extension ", row[0].as<int>(), ": ",
                                           opened.status().message()));
        }
        secret = std::move(*opened);
        store = reseal && !secrets.SealedWithCurrentKey(sealed);
      }
      if (!store) continue;
      transaction.exec_params(
          "UPDATE extensions SET sip_secret = NULL, sip_secret_sealed = $2 WHERE number = $1",
          row[0].as<int>(), secrets.Seal(secret, SipSecretContext(user_id)));
      ++changed;
    }
    transaction.commit();
    return changed;
  } catch (...) {
    return StatusFromDatabaseException(std::current_exception());
  }
}

}  // namespace

std::string SipSecretContext(absl::string_view user_id) {
  return absl::StrCat("pbx.extensions.sip_secret:", user_id);
}

absl::StatusOr<std::string> OpenSipSecret(const SecretBox& secrets, absl::string_view user_id,
                                          absl::string_view sealed) {
  absl::StatusOr<std::string> opened = secrets.Open(sealed, SipSecretContext(user_id));
  if (!opened.ok()) {
    LogError("cannot open a stored SIP secret",
             {{"user_id", user_id}, {"error", opened.status().message()}});
    return absl::InternalError("a stored SIP secret cannot be read; see the server log");
  }
  return opened;
}

absl::Status PrepareSipSecrets(pqxx::connection& connection, const SecretBox& secrets) {
  absl::StatusOr<int> sealed = SealAll(connection, secrets, /*reseal=*/false);
  if (!sealed.ok()) return sealed.status();
  if (*sealed > 0) {
    LogInfo("sealed SIP secrets stored in clear", {{"count", absl::StrCat(*sealed)}});
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ResealSipSecrets(pqxx::connection& connection, const SecretBox& secrets) {
  return SealAll(connection, secrets, /*reseal=*/true);
}

}  // namespace pbx
