// RegistrationOperations over the in-memory user store and the local host
// with a stand-in `asterisk` program: what is read, in how many round trips,
// and what each failure answers, with one host and with two. Parsing real Asterisk output is
// registrations_test.cc; the real lab is tests/e2e/test_registrations.py.
#include "server/registrations/registration_operations.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <tuple>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/asterisk/local_host.h"
#include "server/core/error_info.h"
#include "tests/unit/fake_seams.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Cut from the lab's output: 1000 and 1002 registered, and 1005, which is no
// user's.
constexpr char kShowAors[] = R"cli(
      Aor:  <Aor..............................................>  <MaxContact>
    Contact:  <Aor/ContactUri............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

      Aor:  1000                                                 1
    Contact:  1000/sip:1000@127.0.0.1:40300                76d24826ea NonQual        -nan

      Aor:  1001                                                 1

      Aor:  1002                                                 1
    Contact:  1002/sip:1002@127.0.0.1:40304                19584b87ec Unavail        -nan

      Aor:  1005                                                 2
    Contact:  1005/sip:1005@127.0.0.1:40302                770c00763c NonQual        -nan


Objects found: 4

)cli";
constexpr char kContactRecords[] = R"cli(/registrar/contact/1000;@76d24826ea1be4a95ff57c496c4ee4c3: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30347@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1000","via_port":"40300","authenticate_qualify":"no","uri":"sip:1000@127.0.0.1:40300","qualify_frequency":"0","user_agent":"bench-phone/1.0 (1000)","expiration_time":"1796063067","outbound_proxy":""}
/registrar/contact/1002;@19584b87ece07d10fcc33b77f603ace8: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30351@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1002","via_port":"40304","authenticate_qualify":"no","uri":"sip:1002@127.0.0.1:40304","qualify_frequency":"30","user_agent":"bench-phone/1.0 (1002)","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/1005;@770c00763ce5150a01b28741ef159125: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30357@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1005","via_port":"40302","authenticate_qualify":"no","uri":"sip:1005@127.0.0.1:40302","qualify_frequency":"0","user_agent":"bench-phone/1.0 (1005)","expiration_time":"1796063068","outbound_proxy":""}
3 results found.
)cli";

// A second host's: 1000 registered there too (another phone), and 1001.
constexpr char kShowAorsB[] = R"cli(
      Aor:  1000                                                 1
    Contact:  1000/sip:1000@127.0.0.1:50300                aa11bb22cc NonQual        -nan

      Aor:  1001                                                 1
    Contact:  1001/sip:1001@127.0.0.1:50301                dd33ee44ff Avail         1.234
)cli";
constexpr char kContactRecordsB[] = R"cli(/registrar/contact/1000;@aa11bb22cc00000000000000000000aa: {"uri":"sip:1000@127.0.0.1:50300","user_agent":"desk-phone (1000)","expiration_time":"1796063100"}
/registrar/contact/1001;@dd33ee44ff00000000000000000000dd: {"uri":"sip:1001@127.0.0.1:50301","user_agent":"desk-phone (1001)","expiration_time":"1796063101"}
2 results found.
)cli";

// The ids FakeUserStore::Provision hands out, in order.
constexpr char kUser1000[] = "00000000-0000-4000-8000-000000000001";
constexpr char kUser1001[] = "00000000-0000-4000-8000-000000000002";

constexpr char kUnreachable[] = "the Asterisk host cannot be reached";

// Failed to open, as an unreachable host is.
absl::Status UnreachableHost() {
  return Summarized(
      absl::UnavailableError("cannot reach the Asterisk host ssh://pbx@192.0.2.7:22: timeout"),
      kUnreachable);
}

// The local host, counting sessions and commands; Open fails with
// `open_failure` when set. Its commands run with FAKE_HOST set to `name`
// (the stand-in asterisk answers from that host's directory).
class CountingHost : public AsteriskHost {
 public:
  explicit CountingHost(std::string name = "") : name_(std::move(name)) {}

  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> Open() override {
    ++sessions;
    if (open_failure) return *open_failure;
    absl::StatusOr<std::unique_ptr<AsteriskHostSession>> inner = local_.Open();
    if (!inner.ok()) return inner.status();
    return std::unique_ptr<AsteriskHostSession>(
        new CountingSession(std::move(*inner), runs, name_));
  }
  std::string Describe() const override {
    return name_.empty() ? "counting local" : "counting local " + name_;
  }

  int sessions = 0;
  int runs = 0;
  std::optional<absl::Status> open_failure;

 private:
  class CountingSession : public AsteriskHostSession {
   public:
    CountingSession(std::unique_ptr<AsteriskHostSession> inner, int& runs, std::string name)
        : inner_(std::move(inner)), runs_(runs), name_(std::move(name)) {}
    absl::Status CreateFile(const std::string& path, const std::string& content) override {
      return inner_->CreateFile(path, content);
    }
    absl::StatusOr<CommandResult> Run(const std::string& command) override {
      ++runs_;
      return inner_->Run("export FAKE_HOST='" + name_ + "'; " + command);
    }

   private:
    std::unique_ptr<AsteriskHostSession> inner_;
    int& runs_;
    const std::string name_;
  };

  const std::string name_;

  LocalAsteriskHost local_{absl::Seconds(10)};
};

// A store whose ListUsers fails, as with the database down.
class UnreachableListStore : public testing::FakeUserStore {
 public:
  absl::StatusOr<std::vector<UserRecord>> ListUsers() override {
    return absl::UnavailableError("the database cannot be reached");
  }
};

class RegistrationOperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("pbx-registrations-" + std::to_string(getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(directory_);
    std::ofstream(directory_ / "aors") << kShowAors;
    std::ofstream(directory_ / "records") << kContactRecords;
    users_.Provision(1000, "AAAAbbbbCCCCdddd00001111");
    users_.Provision(1001, "EEEEffffGGGGhhhh22223333");
    users_.Provision(1002, "IIIIjjjjKKKKllll44445555");
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  // The program to pass as asterisk: a script answering `-rx COMMAND` as
  // `case_body` says, in the host's directory (directory_, or its FAKE_HOST
  // subdirectory), after `prelude`.
  std::string FakeAsterisk(const std::string& case_body, const std::string& prelude = "") {
    const std::filesystem::path script = directory_ / "asterisk";
    std::ofstream(script) << "cd " << directory_ << " && cd ./\"$FAKE_HOST\"\n"
                          << prelude << "echo \"$2\" >>commands\ncase \"$2\" in\n"
                          << case_body << "esac\n";
    return "sh " + script.string();
  }
  // Hosts a (the samples above) and b (kShowAorsB...), in that order.
  void MakeTwoHosts() {
    for (const auto& [name, aors, records] :
         {std::tuple("a", kShowAors, kContactRecords),
          std::tuple("b", kShowAorsB, kContactRecordsB)}) {
      std::filesystem::create_directories(directory_ / name);
      std::ofstream(directory_ / name / "aors") << aors;
      std::ofstream(directory_ / name / "records") << records;
    }
  }
  std::vector<RegistrationOperations::NamedHost> TwoHosts() {
    return {{"a", &host_a_}, {"b", &host_b_}};
  }
  // Answers from the samples (one AOR's listing: its lines of all AORs'), and
  // notes every command in CliCommands().
  std::string RunningAsterisk() {
    return FakeAsterisk("'pjsip show aors') cat aors;;\n"
                        "'pjsip show aor '*) grep -F \"  ${2#pjsip show aor }/\" aors || true;;\n"
                        "'database show registrar/contact') cat records;;\n"
                        "*) echo \"No such command '$2'\";;\n");
  }
  std::vector<std::string> CliCommands(const std::string& host = "") {
    std::vector<std::string> commands;
    std::ifstream log(directory_ / host / "commands");
    for (std::string line; std::getline(log, line);) commands.push_back(line);
    return commands;
  }

  std::filesystem::path directory_;
  testing::FakeUserStore users_;
  CountingHost host_;
  CountingHost host_a_{"a"};
  CountingHost host_b_{"b"};
};

TEST_F(RegistrationOperationsTest, ListsEveryUserInExtensionOrderFromOneRoundTrip) {
  RegistrationOperations operations(users_, host_, RunningAsterisk());
  absl::StatusOr<RegistrationListing> listing = operations.ListRegistrations();
  ASSERT_TRUE(listing.ok()) << listing.status();
  const std::vector<UserRegistration>& registrations = listing->registrations;
  ASSERT_THAT(registrations, ElementsAre(Field(&UserRegistration::extension, 1000),
                                          Field(&UserRegistration::extension, 1001),
                                          Field(&UserRegistration::extension, 1002)));
  EXPECT_EQ(registrations[0].user_id, kUser1000);
  EXPECT_THAT(registrations[0].contacts,
              ElementsAre(Field(&ContactRegistration::uri, "sip:1000@127.0.0.1:40300")));
  EXPECT_EQ(registrations[0].contacts[0].host, "asterisk");
  EXPECT_THAT(registrations[1].contacts, IsEmpty());
  EXPECT_THAT(registrations[2].contacts,
              ElementsAre(Field(&ContactRegistration::status, "Unavail")));
  EXPECT_THAT(registrations[0].unread_hosts, IsEmpty());
  // The one host, named as the single-host variables name it, read.
  ASSERT_EQ(listing->hosts.size(), 1u);
  EXPECT_EQ(listing->hosts[0].name, "asterisk");
  EXPECT_EQ(listing->hosts[0].address, "counting local");
  EXPECT_EQ(listing->hosts[0].error_detail, "");
  EXPECT_EQ(host_.sessions, 1);
  EXPECT_EQ(host_.runs, 1) << "one exec on the host for every user";
  EXPECT_THAT(CliCommands(),
              UnorderedElementsAre("pjsip show aors", "database show registrar/contact"));
}

TEST_F(RegistrationOperationsTest, GetsOneUsersContacts) {
  RegistrationOperations operations(users_, host_, RunningAsterisk());
  absl::StatusOr<RegistrationLookup> lookup = operations.GetRegistration(kUser1000);
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  const UserRegistration* registered = &lookup->registration;
  EXPECT_EQ(registered->user_id, kUser1000);
  EXPECT_EQ(registered->extension, 1000);
  ASSERT_EQ(registered->contacts.size(), 1u);
  const ContactRegistration& contact = registered->contacts[0];
  EXPECT_EQ(contact.uri, "sip:1000@127.0.0.1:40300");
  EXPECT_EQ(contact.user_agent, "bench-phone/1.0 (1000)");
  EXPECT_EQ(contact.status, "NonQual");
  EXPECT_EQ(contact.expires_at, absl::FromUnixSeconds(1796063067));

  EXPECT_EQ(contact.host, "asterisk");
  ASSERT_EQ(lookup->hosts.size(), 1u);
  EXPECT_EQ(lookup->hosts[0].name, "asterisk");
  EXPECT_EQ(lookup->hosts[0].error_detail, "");

  absl::StatusOr<RegistrationLookup> other = operations.GetRegistration(kUser1001);
  ASSERT_TRUE(other.ok()) << other.status();
  const UserRegistration* unregistered = &other->registration;
  EXPECT_EQ(unregistered->extension, 1001);
  EXPECT_THAT(unregistered->contacts, IsEmpty());
  EXPECT_EQ(host_.runs, 2);
  // Only the user's AOR is listed: a fraction of listing them all.
  EXPECT_THAT(CliCommands(), UnorderedElementsAre("pjsip show aor 1000", "pjsip show aor 1001",
                                                  "database show registrar/contact",
                                                  "database show registrar/contact"));
}

TEST_F(RegistrationOperationsTest, AMalformedIdIsRefusedBeforeAnyRead) {
  RegistrationOperations operations(users_, host_, RunningAsterisk());
  absl::StatusOr<RegistrationLookup> registration = operations.GetRegistration("not-a-uuid");
  EXPECT_EQ(registration.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(users_.calls, IsEmpty());
  EXPECT_EQ(host_.sessions, 0);
}

TEST_F(RegistrationOperationsTest, AnUnknownUserIsNotFoundWithoutAskingAsterisk) {
  RegistrationOperations operations(users_, host_, RunningAsterisk());
  absl::StatusOr<RegistrationLookup> registration =
      operations.GetRegistration("00000000-0000-4000-8000-000000000099");
  EXPECT_EQ(registration.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(host_.sessions, 0);
}

TEST_F(RegistrationOperationsTest, AnUnreachableHostIsUnavailableWithoutItsAddress) {
  host_.open_failure = UnreachableHost();
  RegistrationOperations operations(users_, host_, RunningAsterisk());
  for (const absl::Status& status : {operations.ListRegistrations().status(),
                                     operations.GetRegistration(kUser1000).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(status.message(), kUnreachable);
  }
}

TEST_F(RegistrationOperationsTest, AStoppedAsteriskIsUnavailable) {
  // asterisk -rx exits 1 only when it cannot reach the daemon.
  RegistrationOperations operations(
      users_, host_,
      FakeAsterisk("*) echo 'Unable to connect to remote asterisk (does "
                   "/var/run/asterisk/asterisk.ctl exist?)'; exit 1;;\n"));
  for (const absl::Status& status : {operations.ListRegistrations().status(),
                                     operations.GetRegistration(kUser1000).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(status.message(), "Asterisk is not running on its host");
  }
}

TEST_F(RegistrationOperationsTest, ADatabaseOutageAnswersBeforeAsteriskIsAsked) {
  UnreachableListStore users;
  RegistrationOperations operations(users, host_, RunningAsterisk());
  EXPECT_EQ(operations.ListRegistrations().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(host_.sessions, 0);
}

// ---------------------------------------------------------------- two hosts

// The URI and host of each of `registration`'s contacts.
std::vector<std::pair<std::string, std::string>> ContactsOf(const UserRegistration& registration) {
  std::vector<std::pair<std::string, std::string>> contacts;
  for (const ContactRegistration& contact : registration.contacts) {
    contacts.emplace_back(contact.uri, contact.host);
  }
  return contacts;
}

TEST_F(RegistrationOperationsTest, ListsEveryHostsContactsEachNamingItsHost) {
  MakeTwoHosts();
  RegistrationOperations operations(users_, TwoHosts(), RunningAsterisk());
  absl::StatusOr<RegistrationListing> listing = operations.ListRegistrations();
  ASSERT_TRUE(listing.ok()) << listing.status();
  const std::vector<UserRegistration>& registrations = listing->registrations;
  ASSERT_EQ(registrations.size(), 3u);
  // 1000 on both hosts (a phone each), in host order; 1001 on b alone.
  EXPECT_THAT(ContactsOf(registrations[0]),
              ElementsAre(std::pair("sip:1000@127.0.0.1:40300", "a"),
                          std::pair("sip:1000@127.0.0.1:50300", "b")));
  EXPECT_THAT(ContactsOf(registrations[1]),
              ElementsAre(std::pair("sip:1001@127.0.0.1:50301", "b")));
  EXPECT_EQ(registrations[1].contacts[0].user_agent, "desk-phone (1001)");
  EXPECT_EQ(registrations[1].contacts[0].rtt_ms, 1.234);
  EXPECT_THAT(ContactsOf(registrations[2]),
              ElementsAre(std::pair("sip:1002@127.0.0.1:40304", "a")));
  for (const UserRegistration& registration : registrations) {
    EXPECT_THAT(registration.unread_hosts, IsEmpty());
  }
  ASSERT_EQ(listing->hosts.size(), 2u);
  EXPECT_EQ(listing->hosts[0].name, "a");
  EXPECT_EQ(listing->hosts[0].address, "counting local a");
  EXPECT_EQ(listing->hosts[0].error_detail, "");
  EXPECT_EQ(listing->hosts[1].name, "b");
  EXPECT_EQ(listing->hosts[1].address, "counting local b");
  EXPECT_EQ(listing->hosts[1].error_detail, "");
  // One session and one exec on each host, for every user.
  for (const CountingHost* host : {&host_a_, &host_b_}) {
    EXPECT_EQ(host->sessions, 1);
    EXPECT_EQ(host->runs, 1);
  }
  for (const char* host : {"a", "b"}) {
    EXPECT_THAT(CliCommands(host),
                UnorderedElementsAre("pjsip show aors", "database show registrar/contact"));
  }
}

TEST_F(RegistrationOperationsTest, GetsOneUsersContactsFromEveryHost) {
  MakeTwoHosts();
  RegistrationOperations operations(users_, TwoHosts(), RunningAsterisk());
  absl::StatusOr<RegistrationLookup> lookup = operations.GetRegistration(kUser1000);
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->registration.extension, 1000);
  EXPECT_THAT(ContactsOf(lookup->registration),
              ElementsAre(std::pair("sip:1000@127.0.0.1:40300", "a"),
                          std::pair("sip:1000@127.0.0.1:50300", "b")));
  ASSERT_EQ(lookup->hosts.size(), 2u);
  EXPECT_EQ(lookup->hosts[1].name, "b");
  for (const char* host : {"a", "b"}) {
    EXPECT_THAT(CliCommands(host), UnorderedElementsAre("pjsip show aor 1000",
                                                        "database show registrar/contact"));
  }
}

TEST_F(RegistrationOperationsTest, TheHostsAreReadSideBySide) {
  MakeTwoHosts();
  // Each host's asterisk answers only once the other's has started: read one
  // after the other, the first gives up after 5 s and that host fails.
  const std::string barrier =
      "touch ../\"$FAKE_HOST\".started\n"
      "other=a; [ \"$FAKE_HOST\" = a ] && other=b\n"
      "for i in $(seq 50); do [ -e ../$other.started ] && break; sleep 0.1; done\n"
      "[ -e ../$other.started ] || { echo 'Unable to connect to remote asterisk'; exit 1; }\n";
  RegistrationOperations operations(
      users_, TwoHosts(),
      FakeAsterisk("'pjsip show aors') cat aors;;\n"
                   "'database show registrar/contact') cat records;;\n",
                   barrier));
  absl::StatusOr<RegistrationListing> listing = operations.ListRegistrations();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->hosts[0].error_detail, "");
  EXPECT_EQ(listing->hosts[1].error_detail, "");
  EXPECT_EQ(listing->registrations[0].contacts.size(), 2u);
}

TEST_F(RegistrationOperationsTest, AHostThatCannotBeReadIsNamedWithItsReasonBesideTheOthers) {
  MakeTwoHosts();
  host_b_.open_failure = UnreachableHost();
  RegistrationOperations operations(users_, TwoHosts(), RunningAsterisk());
  absl::StatusOr<RegistrationListing> listing = operations.ListRegistrations();
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(listing->hosts.size(), 2u);
  EXPECT_EQ(listing->hosts[0].error_detail, "");
  // Its summary, not its address.
  EXPECT_EQ(listing->hosts[1].error_detail, kUnreachable);
  EXPECT_EQ(listing->hosts[1].address, "counting local b");
  const std::vector<UserRegistration>& registrations = listing->registrations;
  ASSERT_EQ(registrations.size(), 3u);
  EXPECT_THAT(ContactsOf(registrations[0]),
              ElementsAre(std::pair("sip:1000@127.0.0.1:40300", "a")));
  // Not known to be registered: b, where it is, could not be read.
  EXPECT_THAT(registrations[1].contacts, IsEmpty());
  for (const UserRegistration& registration : registrations) {
    EXPECT_THAT(registration.unread_hosts, ElementsAre("b"));
  }

  absl::StatusOr<RegistrationLookup> lookup = operations.GetRegistration(kUser1001);
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_THAT(lookup->registration.contacts, IsEmpty());
  EXPECT_THAT(lookup->registration.unread_hosts, ElementsAre("b"));
  EXPECT_EQ(lookup->hosts[1].error_detail, kUnreachable);
}

TEST_F(RegistrationOperationsTest, AStoppedAsteriskOnOneHostIsThatHostsReason) {
  MakeTwoHosts();
  // b's daemon is down: its asterisk -rx exits 1.
  RegistrationOperations operations(
      users_, TwoHosts(),
      FakeAsterisk("'pjsip show aors') cat aors;;\n"
                   "'database show registrar/contact') cat records;;\n",
                   "[ \"$FAKE_HOST\" = b ] && { echo 'Unable to connect to remote asterisk'; "
                   "exit 1; }\n"));
  absl::StatusOr<RegistrationListing> listing = operations.ListRegistrations();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->hosts[0].error_detail, "");
  EXPECT_EQ(listing->hosts[1].error_detail, "Asterisk is not running on its host");
  EXPECT_THAT(ContactsOf(listing->registrations[2]),
              ElementsAre(std::pair("sip:1002@127.0.0.1:40304", "a")));
}

TEST_F(RegistrationOperationsTest, NoHostReadIsUnavailableNamingEachHostsReason) {
  MakeTwoHosts();
  host_a_.open_failure = UnreachableHost();
  host_b_.open_failure = UnreachableHost();
  RegistrationOperations operations(users_, TwoHosts(), RunningAsterisk());
  for (const absl::Status& status : {operations.ListRegistrations().status(),
                                     operations.GetRegistration(kUser1000).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(status.message(),
              "no Asterisk host could be read (a: the Asterisk host cannot be reached; b: the "
              "Asterisk host cannot be reached)");
  }
  // Unreachable here, its daemon down there: both outages, still UNAVAILABLE.
  host_b_.open_failure.reset();
  RegistrationOperations stopped(
      users_, TwoHosts(),
      FakeAsterisk("*) echo 'Unable to connect to remote asterisk'; exit 1;;\n"));
  const absl::Status status = stopped.ListRegistrations().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(),
            "no Asterisk host could be read (a: the Asterisk host cannot be reached; b: Asterisk "
            "is not running on its host)");
}

}  // namespace
}  // namespace pbx
