#ifndef PBX_SERVER_STORE_PG_USER_STORE_H_
#define PBX_SERVER_STORE_PG_USER_STORE_H_

#include "server/store/pg_pool.h"
#include "server/store/user_store.h"

namespace pbx {

class PgUserStore : public UserStore {
 public:
  explicit PgUserStore(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<CreatedUser> CreateUser(const NewUser& user,
                                         const std::string& sip_secret) override;
  absl::StatusOr<UserRecord> GetUser(absl::string_view id) override;
  absl::StatusOr<std::vector<UserRecord>> ListUsers() override;
  absl::Status DeleteUser(absl::string_view id) override;
  absl::StatusOr<SipCredentials> GetSipCredentials(absl::string_view id) override;
  absl::StatusOr<std::vector<ProvisionedExtension>> ReadProvisioning() override;
  absl::StatusOr<int> CountExtensions() override;

 private:
  PgPool& pool_;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_USER_STORE_H_
