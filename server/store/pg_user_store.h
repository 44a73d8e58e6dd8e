#ifndef PBX_SERVER_STORE_PG_USER_STORE_H_
#define PBX_SERVER_STORE_PG_USER_STORE_H_

#include <pqxx/pqxx>

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

  absl::StatusOr<std::vector<CreatedUser>> CreateUsers(const std::vector<NewUser>& users,
                                                       const std::vector<std::string>& sip_secrets,
                                                       const CreateOptions& options) override;
  absl::StatusOr<UserRecord> GetUser(absl::string_view id) override;
  absl::StatusOr<std::vector<UserRecord>> ListUsers() override;
  absl::StatusOr<UserRecord> UpdateUser(absl::string_view id, const UserPatch& patch,
                                        const ChangeActor& actor) override;
  absl::Status DeleteUser(absl::string_view id, const ChangeActor& actor) override;
  absl::StatusOr<SipCredentials> GetSipCredentials(absl::string_view id,
                                                   const ChangeActor& actor) override;
  absl::StatusOr<SipCredentials> ReplaceSipSecret(absl::string_view id,
                                                  const std::string& sip_secret,
                                                  const ChangeActor& actor) override;
  absl::StatusOr<std::vector<UserChangeEvent>> ListChangeEvents(
      int limit, absl::string_view user_id) override;
  absl::StatusOr<std::vector<ProvisionedExtension>> ReadProvisioning() override;
  absl::StatusOr<Provisioning> ReadProvisioningUnless(absl::string_view known) override;
  absl::StatusOr<int> CountExtensions() override;

 private:
  // The users `ids` names with their credentials, in extension order:
  // the answer of a create made again. NOT_FOUND when one is gone.
  absl::StatusOr<std::vector<CreatedUser>> ReadCreatedUsers(pqxx::work& transaction,
                                                           const std::vector<std::string>& ids);
  // The user, locked for the rest of `transaction`; NOT_FOUND when absent.
  static absl::StatusOr<UserRecord> LockUser(pqxx::work& transaction, absl::string_view id);

  PgPool& pool_;
  const SecretBox& secrets_;
};

}  // namespace pbx

#endif  // PBX_SERVER_STORE_PG_USER_STORE_H_
