#ifndef PBX_SERVER_CORE_USER_CHANGES_H_
#define PBX_SERVER_CORE_USER_CHANGES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/core/user.h"

namespace pbx {

// The fields UpdateUser may change; nullopt leaves a field as it is.
struct UserPatch {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::map<std::string, std::string>> metadata;
};

// The update mask's paths (AIP-134) checked: the fields named ("*" names all
// three) are the ones `user` supplies. INVALID_ARGUMENT listing every path
// that cannot change (id, extension, ...: "user.<path>"), is unknown, or is
// repeated; also when the mask is empty. The values are then validated as at
// create, every violation at once, named "user.<field>".
absl::StatusOr<UserPatch> ValidateUserPatch(const std::vector<std::string>& mask_paths,
                                            const NewUser& user);

// `user` with `patch` applied.
UserRecord Patched(UserRecord user, const UserPatch& patch);

// A value in the change audit: none (a field created or deleted, or a
// secret), text, a number or a string map.
using AuditValue = std::variant<std::monostate, std::string, int64_t,
                                std::map<std::string, std::string>>;

struct FieldChange {
  std::string field;
  AuditValue old_value;
  AuditValue new_value;
};

// The change audit's actions.
inline constexpr char kActionCreate[] = "user.create";
inline constexpr char kActionBatchCreate[] = "user.batch_create";
inline constexpr char kActionUpdate[] = "user.update";
inline constexpr char kActionDelete[] = "user.delete";
inline constexpr char kActionRotate[] = "user.sip_credentials.rotate";
inline constexpr char kActionReadCredentials[] = "user.sip_credentials.read";
// The field a rotation changes; its values are never recorded.
inline constexpr char kSipPasswordField[] = "sip_password";

// What a create records: every field, with no old value.
std::vector<FieldChange> CreatedFields(const UserRecord& user);
// What a delete records: every field, with no new value.
std::vector<FieldChange> DeletedFields(const UserRecord& user);
// The fields that differ between `before` and `after`, in a fixed order.
std::vector<FieldChange> ChangedFields(const UserRecord& before, const UserRecord& after);
// A rotation: the password changed, neither value shown.
std::vector<FieldChange> RotatedPassword();

// Who asks for a change: the API key of the call and the call's request id.
struct ChangeActor {
  std::string key_id;
  std::string key_name;
  std::string request_id;
};

// One entry of the change audit.
struct UserChangeEvent {
  int64_t id = 0;
  absl::Time time;
  ChangeActor actor;
  std::string action;
  std::string user_id;
  int extension = 0;
  std::vector<FieldChange> changes;
};

}  // namespace pbx

#endif  // PBX_SERVER_CORE_USER_CHANGES_H_
