#include "server/registrations/registration_operations.h"

#include <utility>

#include "server/asterisk/asterisk_cli.h"
#include "server/common/log.h"
#include "server/core/error_info.h"
#include "server/core/validation.h"

namespace pbx {
namespace {

// `status` as the caller may see it: its summary alone, the whole story
// (host address, command, what asterisk printed) in the log.
absl::Status ForCaller(const absl::Status& status) {
  LogWarning("cannot read the registrations from Asterisk", {{"error", status.message()}});
  return absl::Status(status.code(), PublicMessage(status));
}

// `user`'s entry, taking its extension's contacts out of `live` (each
// extension belongs to one user).
UserRegistration RegistrationOf(const UserRecord& user, RegistrationsByExtension& live) {
  UserRegistration registration{user.id, user.extension, {}};
  if (auto it = live.find(user.extension); it != live.end()) {
    registration.contacts = std::move(it->second);
  }
  return registration;
}

}  // namespace

absl::StatusOr<RegistrationsByExtension> RegistrationOperations::ReadLiveRegistrations(
    std::optional<int> extension) {
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = host_.Open();
  if (!session.ok()) return ForCaller(session.status());
  absl::StatusOr<RegistrationsByExtension> live =
      AsteriskCli(**session, asterisk_program_).ReadRegistrations(extension);
  if (!live.ok()) return ForCaller(live.status());
  return live;
}

absl::StatusOr<UserRegistration> RegistrationOperations::GetRegistration(absl::string_view id) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  absl::StatusOr<UserRecord> user = users_.GetUser(*canonical_id);
  if (!user.ok()) return user.status();
  absl::StatusOr<RegistrationsByExtension> live = ReadLiveRegistrations(user->extension);
  if (!live.ok()) return live.status();
  return RegistrationOf(*user, *live);
}

absl::StatusOr<std::vector<UserRegistration>> RegistrationOperations::ListRegistrations() {
  absl::StatusOr<std::vector<UserRecord>> users = users_.ListUsers();  // in extension order
  if (!users.ok()) return users.status();
  absl::StatusOr<RegistrationsByExtension> live = ReadLiveRegistrations(std::nullopt);
  if (!live.ok()) return live.status();
  std::vector<UserRegistration> registrations;
  registrations.reserve(users->size());
  for (const UserRecord& user : *users) registrations.push_back(RegistrationOf(user, *live));
  return registrations;
}

}  // namespace pbx
