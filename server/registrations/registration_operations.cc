#include "server/registrations/registration_operations.h"

#include <cassert>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/asterisk/asterisk_cli.h"
#include "server/common/log.h"
#include "server/common/side_by_side.h"
#include "server/core/error_info.h"
#include "server/core/validation.h"

namespace pbx {
namespace {

// `status` as the caller may see it: its summary alone, the whole story
// (host address, command, what asterisk printed) in the log.
absl::Status ForCaller(absl::string_view host, const absl::Status& status) {
  LogWarning("cannot read the registrations from Asterisk",
             {{"host", std::string(host)}, {"error", status.message()}});
  return absl::Status(status.code(), PublicMessage(status));
}

// `user`'s entry, taking its extension's contacts out of `live` (each
// extension belongs to one user).
UserRegistration RegistrationOf(const UserRecord& user, RegistrationsByExtension& live,
                                const std::vector<std::string>& unread_hosts) {
  UserRegistration registration{user.id, user.extension, {}, unread_hosts};
  if (auto it = live.find(user.extension); it != live.end()) {
    registration.contacts = std::move(it->second);
  }
  return registration;
}

// No host could be read (`failures`, each already fit for callers, one per
// host): with one host its error as it is; with several, the code they share
// (else INTERNAL, as for an Apply) and each host's reason.
absl::Status NoHostRead(const std::vector<RegistrationHost>& hosts,
                        const std::vector<absl::Status>& failures) {
  if (failures.size() == 1) return failures.front();
  std::vector<std::string> reasons;
  absl::StatusCode code = failures.front().code();
  for (size_t i = 0; i < failures.size(); ++i) {
    reasons.push_back(absl::StrCat(hosts[i].name, ": ", failures[i].message()));
    if (failures[i].code() != code) code = absl::StatusCode::kInternal;
  }
  return absl::Status(code, absl::StrCat("no Asterisk host could be read (",
                                         absl::StrJoin(reasons, "; "), ")"));
}

}  // namespace

RegistrationOperations::RegistrationOperations(UserStore& users, std::vector<NamedHost> hosts,
                                               std::string asterisk_program)
    : users_(users), hosts_(std::move(hosts)), asterisk_program_(std::move(asterisk_program)) {
  assert(!hosts_.empty());
}

absl::StatusOr<RegistrationsByExtension> RegistrationOperations::ReadHost(
    const NamedHost& host, std::optional<int> extension) {
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> session = host.host->Open();
  if (!session.ok()) return ForCaller(host.name, session.status());
  absl::StatusOr<RegistrationsByExtension> live =
      AsteriskCli(**session, asterisk_program_).ReadRegistrations(extension);
  if (!live.ok()) return ForCaller(host.name, live.status());
  return live;
}

absl::StatusOr<RegistrationOperations::LiveRegistrations>
RegistrationOperations::ReadLiveRegistrations(std::optional<int> extension) {
  std::vector<absl::StatusOr<RegistrationsByExtension>> reads(hosts_.size());
  RunSideBySide(hosts_.size(), [&](size_t i) { reads[i] = ReadHost(hosts_[i], extension); });

  LiveRegistrations live;
  std::vector<absl::Status> failures;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    RegistrationHost host{hosts_[i].name, hosts_[i].host->Describe(), ""};
    if (reads[i].ok()) {
      AddHostRegistrations(host.name, std::move(*reads[i]), live.contacts);
    } else {
      host.error_detail = std::string(reads[i].status().message());
      live.unread_hosts.push_back(host.name);
      failures.push_back(reads[i].status());
    }
    live.hosts.push_back(std::move(host));
  }
  if (failures.size() == hosts_.size()) return NoHostRead(live.hosts, failures);
  return live;
}

absl::StatusOr<RegistrationLookup> RegistrationOperations::GetRegistration(absl::string_view id) {
  absl::StatusOr<std::string> canonical_id = ValidateUserId(id);
  if (!canonical_id.ok()) return canonical_id.status();
  absl::StatusOr<UserRecord> user = users_.GetUser(*canonical_id);
  if (!user.ok()) return user.status();
  absl::StatusOr<LiveRegistrations> live = ReadLiveRegistrations(user->extension);
  if (!live.ok()) return live.status();
  return RegistrationLookup{RegistrationOf(*user, live->contacts, live->unread_hosts),
                            std::move(live->hosts)};
}

absl::StatusOr<RegistrationListing> RegistrationOperations::ListRegistrations() {
  absl::StatusOr<std::vector<UserRecord>> users = users_.ListUsers();  // in extension order
  if (!users.ok()) return users.status();
  absl::StatusOr<LiveRegistrations> live = ReadLiveRegistrations(std::nullopt);
  if (!live.ok()) return live.status();
  RegistrationListing listing;
  listing.registrations.reserve(users->size());
  for (const UserRecord& user : *users) {
    listing.registrations.push_back(RegistrationOf(user, live->contacts, live->unread_hosts));
  }
  listing.hosts = std::move(live->hosts);
  return listing;
}

}  // namespace pbx
