#ifndef PBX_SERVER_STORE_PG_API_KEY_STORE_H_
#define PBX_SERVER_STORE_PG_API_KEY_STORE_H_

#include "server/store/api_key_store.h"
#include "server/store/pg_pool.h"

namespace pbx {

class PgApiKeyStore : public ApiKeyStore {
 public:
  explicit PgApiKeyStore(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<ApiKeyRecord> CreateKey(absl::string_view name, Role role,
                                         absl::string_view token_hash) override;
  absl::StatusOr<std::optional<ApiKeyRecord>> CreateFirstAdminKey(
      absl::string_view name, absl::string_view token_hash) override;
  absl::StatusOr<std::vector<ApiKeyRecord>> ListKeys() override;
  absl::Status RevokeKey(absl::string_view id) override;
  absl::StatusOr<std::vector<ActiveApiKey>> ActiveKeys() override;
  absl::Status MarkUsed(const std::vector<std::string>& key_ids) override;

 private:
  PgPool& pool_;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_API_KEY_STORE_H_
