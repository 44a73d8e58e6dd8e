#ifndef PBX_SERVER_STORE_PG_USER_STORE_H_
#define PBX_SERVER_STORE_PG_USER_STORE_H_

#include "server/store/pg_pool.h"
#include "server/store/secret_box.h"
#include "server/store/user_store.h"

namespace pbx {

// Users and extensions in PostgreSQL. SIP secrets are sealed with `secrets`
// on the way in and opened on the way out: the database never holds one in
// clear.
class PgUserStore : public UserStore {
 public:
  PgUserStore(PgPool& pool, const SecretBox& secrets) : pool_(pool), secrets_(secrets) {}

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
  const SecretBox& secrets_;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_USER_STORE_H_
