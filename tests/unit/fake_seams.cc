#include "tests/unit/fake_seams.h"

#include "server/core/sha256.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/apply/apply_plan.h"
#include "server/core/extension_pool.h"
#include "server/core/sha256.h"

namespace pbx::testing {
namespace {

absl::Status NoSuchUser(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("user ", id, " not found"));
}

}  // namespace

// ---------------------------------------------------------------- FakeUserStore

absl::StatusOr<std::vector<CreatedUser>> FakeUserStore::CreateUsers(
    const std::vector<NewUser>& users, const std::vector<std::string>& sip_secrets,
    const CreateOptions& options) {
  calls.push_back("CreateUsers");
  if (options.key.has_value()) {
    auto earlier = request_ids_.find(options.key->request_id);
    if (earlier != request_ids_.end()) {
      const EarlierRequest& first = earlier->second;
      if (first.actor_key_id != options.actor.key_id || first.key.method != options.key->method ||
          first.key.fingerprint != options.key->fingerprint) {
        return RequestIdReusedError(*options.key);
      }
      std::vector<CreatedUser> again;
      for (const std::string& id : first.user_ids) {
        auto stored = users_.find(id);
        if (stored == users_.end()) return RequestIdResultGoneError(*options.key);
        const UserRecord& user = stored->second.user;
        again.push_back({user, {id, user.extension, absl::StrCat(user.extension),
                                stored->second.secret}});
      }
      for (const CreatedUser& user : again) {
        Record(options.actor, kActionReadCredentials, user.user, {});
      }
      return again;
    }
  }
  std::set<int> taken;
  for (const auto& [id, stored] : users_) {
    for (const NewUser& user : users) {
      if (absl::AsciiStrToLower(stored.user.email) == absl::AsciiStrToLower(user.email)) {
        return absl::AlreadyExistsError(absl::StrCat("a user with email ", user.email,
                                                     " already exists"));
      }
    }
    taken.insert(stored.user.extension);
  }
  std::vector<int> numbers;
  for (int number = kFirstExtension; number <= kLastExtension && numbers.size() < users.size();
       ++number) {
    if (taken.count(number) == 0) numbers.push_back(number);
  }
  if (numbers.size() < users.size()) return ExtensionPoolExhaustedError();
  if (options.validate_only) return std::vector<CreatedUser>{};
  std::vector<CreatedUser> created;
  std::vector<std::string> ids;
  for (size_t i = 0; i < users.size(); ++i) {
    UserRecord record;
    record.id = absl::StrFormat("00000000-0000-4000-8000-%012d", next_id_++);
    record.tenant_id = "00000000-0000-4000-8000-000000000000";
    record.name = users[i].name;
    record.email = users[i].email;
    record.metadata = users[i].metadata;
    record.extension = numbers[i];
    record.created_at = record.extension_allocated_at = absl::Now();
    users_[record.id] = {record, sip_secrets[i]};
    Record(options.actor, options.action, record, CreatedFields(record));
    ids.push_back(record.id);
    created.push_back(
        {record, {record.id, numbers[i], absl::StrCat(numbers[i]), sip_secrets[i]}});
  }
  if (options.key.has_value()) {
    request_ids_[options.key->request_id] = {*options.key, options.actor.key_id, ids};
  }
  return created;
}

absl::StatusOr<UserRecord> FakeUserStore::GetUser(absl::string_view id) {
  calls.push_back(absl::StrCat("GetUser ", id));
  auto it = users_.find(std::string(id));
  if (it == users_.end()) return NoSuchUser(id);
  return it->second.user;
}

absl::StatusOr<std::vector<UserRecord>> FakeUserStore::ListUsers() {
  calls.push_back("ListUsers");
  std::vector<UserRecord> users;
  for (const auto& [id, stored] : users_) users.push_back(stored.user);
  std::sort(users.begin(), users.end(),
            [](const UserRecord& a, const UserRecord& b) { return a.extension < b.extension; });
  return users;
}

absl::StatusOr<UserRecord> FakeUserStore::UpdateUser(absl::string_view id,
                                                      const UserPatch& patch,
                                                      const ChangeActor& actor) {
  calls.push_back(absl::StrCat("UpdateUser ", id));
  auto it = users_.find(std::string(id));
  if (it == users_.end()) return NoSuchUser(id);
  UserRecord after = Patched(it->second.user, patch);
  for (const auto& [other_id, stored] : users_) {
    if (other_id != id &&
        absl::AsciiStrToLower(stored.user.email) == absl::AsciiStrToLower(after.email)) {
      return absl::AlreadyExistsError(absl::StrCat("a user with email ", after.email,
                                                   " already exists"));
    }
  }
  std::vector<FieldChange> changes = ChangedFields(it->second.user, after);
  if (!changes.empty()) Record(actor, kActionUpdate, after, std::move(changes));
  it->second.user = after;
  return after;
}

absl::Status FakeUserStore::DeleteUser(absl::string_view id, const ChangeActor& actor) {
  calls.push_back(absl::StrCat("DeleteUser ", id));
  auto it = users_.find(std::string(id));
  if (it == users_.end()) return NoSuchUser(id);
  Record(actor, kActionDelete, it->second.user, DeletedFields(it->second.user));
  users_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<SipCredentials> FakeUserStore::GetSipCredentials(absl::string_view id,
                                                                const ChangeActor& actor) {
  calls.push_back(absl::StrCat("GetSipCredentials ", id));
  auto it = users_.find(std::string(id));
  if (it == users_.end()) return NoSuchUser(id);
  Record(actor, kActionReadCredentials, it->second.user, {});
  const int number = it->second.user.extension;
  return SipCredentials{it->first, number, absl::StrCat(number), it->second.secret};
}

absl::StatusOr<SipCredentials> FakeUserStore::ReplaceSipSecret(absl::string_view id,
                                                               const std::string& sip_secret,
                                                               const ChangeActor& actor) {
  calls.push_back(absl::StrCat("ReplaceSipSecret ", id));
  auto it = users_.find(std::string(id));
  if (it == users_.end()) return NoSuchUser(id);
  it->second.secret = sip_secret;
  Record(actor, kActionRotate, it->second.user, RotatedPassword());
  const int number = it->second.user.extension;
  return SipCredentials{it->first, number, absl::StrCat(number), sip_secret};
}

absl::StatusOr<std::vector<UserChangeEvent>> FakeUserStore::ListChangeEvents(
    int limit, absl::string_view user_id) {
  calls.push_back(absl::StrCat("ListChangeEvents ", limit, " ", user_id));
  std::vector<UserChangeEvent> events;
  for (auto it = events_.rbegin(); it != events_.rend() && static_cast<int>(events.size()) < limit;
       ++it) {
    if (user_id.empty() || it->user_id == user_id) events.push_back(*it);
  }
  return events;
}

void FakeUserStore::Record(const ChangeActor& actor, absl::string_view action,
                           const UserRecord& user, std::vector<FieldChange> changes) {
  events_.push_back({static_cast<int64_t>(events_.size()) + 1, absl::Now(), actor,
                     std::string(action), user.id, user.extension, std::move(changes)});
}

absl::StatusOr<std::vector<ProvisionedExtension>> FakeUserStore::ReadProvisioning() {
  calls.push_back("ReadProvisioning");
  if (read_failure) return *read_failure;
  std::vector<ProvisionedExtension> extensions;
  for (const auto& [id, stored] : users_) {
    extensions.push_back({stored.user.extension, stored.secret});
  }
  std::sort(extensions.begin(), extensions.end(),
            [](const ProvisionedExtension& a, const ProvisionedExtension& b) {
              return a.number < b.number;
            });
  return extensions;
}

absl::StatusOr<UserStore::Provisioning> FakeUserStore::ReadProvisioningUnless(
    absl::string_view known) {
  absl::StatusOr<std::vector<ProvisionedExtension>> extensions = ReadProvisioning();
  if (!extensions.ok()) return extensions.status();
  calls.back() = "ReadProvisioningUnless";
  std::string all;
  for (const ProvisionedExtension& e : *extensions) {
    absl::StrAppend(&all, e.number, ":", e.sip_secret, ",");
  }
  Provisioning provisioning;
  provisioning.fingerprint = Sha256Hex(all);
  provisioning.changed = provisioning.fingerprint != known;
  if (provisioning.changed) provisioning.extensions = std::move(*extensions);
  return provisioning;
}

absl::StatusOr<int> FakeUserStore::CountExtensions() {
  return static_cast<int>(users_.size());
}

void FakeUserStore::Provision(int number, const std::string& secret) {
  UserRecord record;
  record.id = absl::StrFormat("00000000-0000-4000-8000-%012d", next_id_++);
  record.extension = number;
  users_[record.id] = {record, secret};
}

void FakeUserStore::Unprovision(int number) {
  for (auto it = users_.begin(); it != users_.end();) {
    it = it->second.user.extension == number ? users_.erase(it) : std::next(it);
  }
}

// ---------------------------------------------------------------- FakeApplyStore

namespace {

class FakeApplyLock : public ApplyLock {
 public:
  explicit FakeApplyLock(bool& locked) : locked_(locked) { locked_ = true; }
  ~FakeApplyLock() override { locked_ = false; }

 private:
  bool& locked_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ApplyLock>> FakeApplyStore::LockApply(absl::Duration,
                                                                     const IsCancelled&) {
  if (lock_failure) return *lock_failure;
  return std::unique_ptr<ApplyLock>(new FakeApplyLock(locked));
}

namespace {

ApplyAuditEntry NewRow(int64_t id, const ApplyRequester& requester,
                       absl::string_view asterisk_host) {
  ApplyAuditEntry entry;
  entry.id = id;
  entry.started_at = absl::Now();
  entry.triggered_by = requester.name;
  entry.triggered_by_key_id = requester.key_id;
  entry.note = requester.note;
  entry.request_id = requester.request_id;
  entry.asterisk_host = std::string(asterisk_host);
  return entry;
}

}  // namespace

absl::StatusOr<ApplyAuditEntry> FakeApplyStore::OpenAudit(const ApplyRequester& requester,
                                                          absl::string_view asterisk_host) {
  EXPECT_TRUE(locked) << "an audit row is opened only with the Apply lock held";
  rows.push_back(NewRow(static_cast<int64_t>(rows.size()) + 1, requester, asterisk_host));
  return rows.back();
}

absl::StatusOr<ApplyAuditEntry> FakeApplyStore::RecordRejectedApply(
    const ApplyRequester& requester, absl::string_view asterisk_host, absl::Duration waited,
    absl::string_view error_detail) {
  ApplyAuditEntry entry =
      NewRow(static_cast<int64_t>(rows.size()) + 1, requester, asterisk_host);
  entry.started_at = absl::Now() - waited;
  entry.finished_at = absl::Now();
  entry.outcome = ApplyOutcome::kFailure;
  entry.error_detail = std::string(error_detail);
  entry.duration_ms = absl::ToInt64Milliseconds(waited);
  rows.push_back(entry);
  return entry;
}

absl::Status FakeApplyStore::CloseAudit(ApplyAuditEntry& entry) {
  EXPECT_TRUE(locked) << "an audit row is closed before the Apply lock is released";
  if (close_failure) return *close_failure;
  entry.finished_at = absl::Now();
  rows.at(static_cast<size_t>(entry.id - 1)) = entry;
  return absl::OkStatus();
}

absl::StatusOr<int> FakeApplyStore::RecoverInterruptedApplies() { return 0; }

absl::StatusOr<std::vector<ApplyAuditEntry>> FakeApplyStore::ListAudit(int limit) {
  std::vector<ApplyAuditEntry> newest_first(rows.rbegin(), rows.rend());
  if (newest_first.size() > static_cast<size_t>(limit)) newest_first.resize(limit);
  return newest_first;
}

absl::StatusOr<bool> FakeApplyStore::ClaimDriftCheck(absl::Duration interval,
                                                     absl::string_view checker) {
  const absl::Time now = absl::Now();
  if (drift_claimed_at && *drift_claimed_at > now - interval * 4 / 5) return false;
  drift_claimed_at = now;
  return true;
}

absl::Status FakeApplyStore::RecordDriftCheck(const DriftCheckSummary& summary) {
  drift_check = summary;
  drift_check->checked_at = absl::Now();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<DriftCheckSummary>> FakeApplyStore::LatestDriftCheck() {
  return drift_check;
}

absl::StatusOr<ApplyStore::LatestApplies> FakeApplyStore::LatestAudits() {
  LatestApplies latest;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    if (!latest.any) latest.any = *it;
    if (!latest.successful && it->outcome == ApplyOutcome::kSuccess) latest.successful = *it;
  }
  return latest;
}

absl::StatusOr<std::vector<std::optional<ApplyAuditEntry>>> FakeApplyStore::LatestHostSuccesses(
    const std::vector<std::string>& hosts, absl::string_view legacy_host) {
  std::vector<std::optional<ApplyAuditEntry>> successes(hosts.size());
  for (size_t i = 0; i < hosts.size(); ++i) {
    for (auto it = rows.rbegin(); it != rows.rend() && !successes[i]; ++it) {
      if (HostSucceeded(*it, hosts[i], legacy_host)) successes[i] = *it;
    }
  }
  return successes;
}

// ---------------------------------------------------------------- FakeAsteriskHost

namespace {

constexpr char kDaemonDown[] =
    "Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)\n";

// The single-quoted words of a shell line ('a' 'b'), as ShellQuote writes
// them; a word followed by * is a glob, returned with the * kept.
std::vector<std::string> QuotedWords(absl::string_view line) {
  std::vector<std::string> words;
  while (true) {
    const size_t open = line.find('\'');
    if (open == absl::string_view::npos) return words;
    const size_t close = line.find('\'', open + 1);
    std::string word(line.substr(open + 1, close - open - 1));
    line.remove_prefix(close + 1);
    if (absl::ConsumePrefix(&line, "*")) word.push_back('*');
    words.push_back(word);
  }
}

class FakeSession : public AsteriskHostSession {
 public:
  explicit FakeSession(FakeHostState& state) : state_(state) {}

  absl::Status CreateFile(const std::string& path, const std::string& content) override {
    const int call = state_.create_file_calls++;
    if (state_.fail_create_file == call) {
      state_.files[path] = content.substr(0, content.size() / 2);  // a partial upload
      return absl::InternalError(absl::StrCat("cannot write ", path, ": no space left"));
    }
    if (state_.files.count(path) > 0) return absl::InternalError(path + " exists");
    state_.files[path] = content;
    return absl::OkStatus();
  }

  absl::StatusOr<CommandResult> Run(const std::string& command) override {
    state_.commands.push_back(command);
    if (absl::StrContains(command, "@@pbx-results")) return ReadConcurrently(command);
    if (absl::StrContains(command, "mv -f -T")) {
      CommandResult committed = Commit(command);
      if (state_.commit_connection_lost) return absl::UnavailableError("connection lost");
      return committed;
    }
    if (absl::StartsWith(command, "rm -f -- ")) {
      Remove(QuotedWords(command));
      return CommandResult{0, ""};
    }
    if (absl::StrContains(command, " -rx '")) return Asterisk(QuotedWords(command).at(0));
    ADD_FAILURE() << "the fake host does not know: " << command;
    return CommandResult{127, "unknown command"};
  }

 private:
  void Remove(const std::vector<std::string>& paths) {
    for (const std::string& path : paths) {
      if (absl::EndsWith(path, "*")) {
        const std::string prefix = path.substr(0, path.size() - 1);
        for (auto it = state_.files.begin(); it != state_.files.end();) {
          it = absl::StartsWith(it->first, prefix) ? state_.files.erase(it) : std::next(it);
        }
      } else {
        state_.files.erase(path);
      }
    }
  }

  // The commit script of CommitStagedFiles, line by line.
  CommandResult Commit(const std::string& script) {
    int renames = 0;
    for (absl::string_view line : absl::StrSplit(script, '\n')) {
      const std::vector<std::string> words = QuotedWords(line);
      int exit_status = 0;
      if (const size_t at = line.find("|| exit "); at != absl::string_view::npos) {
        (void)absl::SimpleAtoi(line.substr(at + 8), &exit_status);
      }
      if (absl::StartsWith(line, "mv -f -T -- ")) {
        if (state_.fail_rename == renames++) {
          return {exit_status, absl::StrCat("mv: cannot move '", words[0], "': Permission denied\n")};
        }
        state_.files[words[1]] = state_.files.at(words[0]);
        state_.files.erase(words[0]);
      } else if (absl::StartsWith(line, "rm -f -- ")) {
        Remove(words);
      } else if (absl::StartsWith(line, "chmod ") || absl::StartsWith(line, "chgrp ")) {
        for (size_t i = absl::StartsWith(line, "chgrp ") ? 1 : 0; i < words.size(); ++i) {
          if (state_.files.count(words[i]) == 0) return {exit_status, "no such file"};
        }
      }
    }
    return {0, ""};
  }

  CommandResult Asterisk(const std::string& cli) {
    if (state_.daemon_stops_before_reload && absl::StrContains(cli, "reload")) {
      state_.daemon_down = true;
    }
    if (state_.daemon_down) return {1, kDaemonDown};
    if (cli == "pjsip reload") {
      LoadPjsip();
      return {0, "Module 'res_pjsip.so' reloaded successfully.\n"};
    }
    if (cli == "dialplan reload") {
      if (state_.dialplan_reload_fails) return {0, "Failed to reload the dialplan.\n"};
      LoadDialplan();
      return {0, "Dialplan reloaded.\n"};
    }
    std::string out;
    if (cli == "pjsip list endpoints") {
      for (const std::string& id : state_.live_endpoints) {
        absl::StrAppend(&out, "Endpoint:  ", id, "   Unavailable   0 of inf\n");
      }
    } else if (cli == "pjsip list aors") {
      for (const std::string& id : state_.live_aors) absl::StrAppend(&out, "Aor:  ", id, "  1\n");
    } else if (cli == "pjsip list auths") {
      for (const std::string& id : state_.live_auths) {
        absl::StrAppend(&out, "Auth:  ", id, "/", id.substr(0, 4), "\n");
      }
    } else if (cli == "dialplan show synergy-internal") {
      for (const std::string& n : state_.live_dialplan) {
        absl::StrAppend(&out, "  '", n, "' =>         1. Dial(PJSIP/", n, ",25)   [x:1]\n");
      }
    } else {
      return {0, absl::StrCat("No such command '", cli, "'\n")};
    }
    return {0, out};
  }

  void LoadPjsip() {
    state_.live_endpoints.clear();
    state_.live_aors.clear();
    state_.live_auths.clear();
    std::string id;
    for (absl::string_view line : absl::StrSplit(state_.files[ConfigPaths().pjsip], '\n')) {
      if (absl::ConsumePrefix(&line, "[") && absl::ConsumeSuffix(&line, "]")) {
        id = std::string(line);
      } else if (absl::ConsumePrefix(&line, "type=")) {
        const std::string type(line);
        if (state_.rejected.count(absl::StrCat(type, " ", id)) > 0) continue;
        if (type == "endpoint") state_.live_endpoints.insert(id);
        if (type == "aor") state_.live_aors.insert(id);
        if (type == "auth") state_.live_auths.insert(id);
      }
    }
  }

  void LoadDialplan() {
    state_.live_dialplan.clear();
    for (absl::string_view line : absl::StrSplit(state_.files[ConfigPaths().dialplan], '\n')) {
      if (!absl::ConsumePrefix(&line, "exten => ")) continue;
      const std::string number(line.substr(0, line.find(',')));
      if (state_.rejected.count("dialplan " + number) == 0) state_.live_dialplan.insert(number);
    }
  }

  // InspectHost's file reads: `test -e P || exit 44; exec sha256sum -- P`
  // (or cat).
  CommandResult ReadFile(absl::string_view line) {
    ++state_.file_reads;
    const std::string path = QuotedWords(line).at(0);
    auto it = state_.files.find(path);
    if (it == state_.files.end()) return {44, ""};
    if (absl::StrContains(line, "sha256sum")) {
      return {0, absl::StrCat(Sha256Hex(it->second), "  ", path, "\n")};
    }
    return {0, it->second};
  }

  // RunConcurrently's script: each "{ COMMAND" block, answered in its format.
  CommandResult ReadConcurrently(const std::string& script) {
    std::vector<CommandResult> results;
    for (absl::string_view line : absl::StrSplit(script, '\n')) {
      if (absl::ConsumePrefix(&line, "{ ")) {
        results.push_back(absl::StartsWith(line, "test -e ") ? ReadFile(line)
                                                              : Asterisk(QuotedWords(line).at(0)));
      }
    }
    std::string header = "@@pbx-results", sizes, outputs;
    size_t total = 0;
    for (size_t i = 0; i < results.size(); ++i) {
      absl::StrAppend(&header, " ", results[i].exit_status);
      absl::StrAppend(&sizes, results[i].output.size(), " /tmp/x/", i, "\n");
      total += results[i].output.size();
      outputs += results[i].output;
    }
    return {0, absl::StrCat(header, "\n", sizes, total, " total\n", outputs)};
  }

  FakeHostState& state_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AsteriskHostSession>> FakeAsteriskHost::Open() {
  if (state.on_open) state.on_open();
  if (state.open_failure) return *state.open_failure;
  ++state.sessions_opened;
  return std::unique_ptr<AsteriskHostSession>(new FakeSession(state));
}

}  // namespace pbx::testing
