#include "server/core/registrations.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

// Captured from the lab's Asterisk 22 (tests/lab/register.xml-like sipp
// REGISTERs): 1000 plain; 1001 and 1002 with qualify_frequency=30, 1001's
// phone answering OPTIONS, 1002's not; 1003 with a contact URI longer than the
// column and a user agent full of quotes, backslashes and UTF-8; 1004 not
// registered; 1005 (max_contacts=2) with two phones; an AOR "alice" with a
// phone; a static contact on an AOR "trunk".
constexpr char kShowAors[] = R"cli(
      Aor:  <Aor..............................................>  <MaxContact>
    Contact:  <Aor/ContactUri............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

      Aor:  1000                                                 1
    Contact:  1000/sip:1000@127.0.0.1:40300                76d24826ea NonQual        -nan

      Aor:  1001                                                 1
    Contact:  1001/sip:1001@127.0.0.1:40303                8a6633fe67 Avail      1501.217

      Aor:  1002                                                 1
    Contact:  1002/sip:1002@127.0.0.1:40304                19584b87ec Unavail        -nan

      Aor:  1003                                                 1
    Contact:  1003/sip:1003-with-a-very-long-user-part-abc 4886e36178 NonQual        -nan

      Aor:  1004                                                 1

      Aor:  1005                                                 2
    Contact:  1005/sip:1005@127.0.0.1:40302                770c00763c NonQual        -nan
    Contact:  1005/sip:1005@127.0.0.1:40301                bc22802826 NonQual        -nan

      Aor:  alice                                                1
    Contact:  alice/sip:alice@127.0.0.1:40306              f0e10196c6 NonQual        -nan

      Aor:  trunk                                                0
    Contact:  trunk/sip:trunk@127.0.0.1:5999               5ded09c6e1 NonQual        -nan


Objects found: 8

)cli";

constexpr char kShowContacts[] = R"cli(
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  1000/sip:1000@127.0.0.1:40300                  76d24826ea NonQual        -nan
  Contact:  1001/sip:1001@127.0.0.1:40303                  8a6633fe67 Avail      1501.217
  Contact:  1002/sip:1002@127.0.0.1:40304                  19584b87ec Unavail        -nan
  Contact:  1003/sip:1003-with-a-very-long-user-part-abcde 4886e36178 NonQual        -nan
  Contact:  1005/sip:1005@127.0.0.1:40301                  bc22802826 NonQual        -nan
  Contact:  1005/sip:1005@127.0.0.1:40302                  770c00763c NonQual        -nan
  Contact:  alice/sip:alice@127.0.0.1:40306                f0e10196c6 NonQual        -nan
  Contact:  trunk/sip:trunk@127.0.0.1:5999                 5ded09c6e1 NonQual        -nan

Objects found: 8

)cli";

constexpr char kContactRecords[] = R"cli(/registrar/contact/1000;@76d24826ea1be4a95ff57c496c4ee4c3: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30347@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1000","via_port":"40300","authenticate_qualify":"no","uri":"sip:1000@127.0.0.1:40300","qualify_frequency":"0","user_agent":"bench-phone/1.0 (1000)","expiration_time":"1796063067","outbound_proxy":""}
/registrar/contact/1001;@8a6633fe672b1460cf62eec85bc771a2: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30349@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1001","via_port":"40303","authenticate_qualify":"no","uri":"sip:1001@127.0.0.1:40303","qualify_frequency":"30","user_agent":"bench-phone/1.0 (1001)","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/1002;@19584b87ece07d10fcc33b77f603ace8: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30351@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1002","via_port":"40304","authenticate_qualify":"no","uri":"sip:1002@127.0.0.1:40304","qualify_frequency":"30","user_agent":"bench-phone/1.0 (1002)","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/1003;@4886e36178ec2634b0985106112151e5: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30353@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1003","via_port":"40305","authenticate_qualify":"no","uri":"sip:1003-with-a-very-long-user-part-abcdefghijklmnopqrstuvwxyz@127.0.0.1:40305;transport=udp;x-line=0123456789abcdef","qualify_frequency":"0","user_agent":"Fancy \"Phone\" \\ v2 ünï ; <x> {\"uri\":\"sip:evil\"}","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/1005;@770c00763ce5150a01b28741ef159125: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30357@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1005","via_port":"40302","authenticate_qualify":"no","uri":"sip:1005@127.0.0.1:40302","qualify_frequency":"0","user_agent":"bench-phone/1.0 (1005)","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/1005;@bc228028266c1ca896baf37fd18f6055: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30355@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1005","via_port":"40301","authenticate_qualify":"no","uri":"sip:1005@127.0.0.1:40301","qualify_frequency":"0","user_agent":"bench-phone/1.0 (1005)","expiration_time":"1796063068","outbound_proxy":""}
/registrar/contact/alice;@f0e10196c6bb6bfcb82c3c4573f9899e: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"1-30359@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"alice","via_port":"40306","authenticate_qualify":"no","uri":"sip:alice@127.0.0.1:40306","qualify_frequency":"0","user_agent":"bench-phone/1.0 (alice)","expiration_time":"1796063068","outbound_proxy":""}
7 results found.
)cli";

// One AOR's listing (1000 registered by tests/perf/register_many.xml), with
// its parameters after the table: "contact" names the registered URI too.
constexpr char kShowAor1000[] = R"cli(
      Aor:  <Aor..............................................>  <MaxContact>
    Contact:  <Aor/ContactUri............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

      Aor:  1000                                                 1
    Contact:  1000/sip:1000@127.0.0.1:39900                20ea594987 NonQual        -nan


 ParameterName        : ParameterValue
 ===============================================
 authenticate_qualify : false
 contact              : sip:1000@127.0.0.1:39900
 default_expiration   : 3600
 mailboxes            : 
 max_contacts         : 1
 maximum_expiration   : 7200
 minimum_expiration   : 60
 outbound_proxy       : 
 qualify_2xx_only     : false
 qualify_frequency    : 0
 qualify_timeout      : 3.000000
 remove_existing      : true
 remove_unavailable   : false
 support_path         : false
 voicemail_extension  : 

)cli";
constexpr char kContactRecord1000[] = R"cli(/registrar/contact/1000;@20ea594987cbbcd2925d183292f02e65: {"via_addr":"127.0.0.1","qualify_timeout":"3.000000","qualify_2xx_only":"false","call_id":"3-13190@127.0.0.1","reg_server":"","prune_on_boot":"no","path":"","endpoint":"1000","via_port":"39900","authenticate_qualify":"no","uri":"sip:1000@127.0.0.1:39900","qualify_frequency":"0","user_agent":"pbx-bench","expiration_time":"1796063740","outbound_proxy":""}
)cli";

// The sample's 1000 contact alone, its record cut to the fields read and a few
// others.
constexpr char kStatus1000[] =
    "    Contact:  1000/sip:1000@127.0.0.1:40300                76d24826ea NonQual        -nan\n";
constexpr char kRecord1000[] =
    R"json(/registrar/contact/1000;@76d24826ea1be4a95ff57c496c4ee4c3: {"via_addr":"127.0.0.1",)json"
    R"json("endpoint":"1000","uri":"sip:1000@127.0.0.1:40300",)json"
    R"json("user_agent":"bench-phone/1.0 (1000)","expiration_time":"1796063067",)json"
    R"json("outbound_proxy":""})json"
    "\n";

std::vector<int> Extensions(const RegistrationsByExtension& registrations) {
  std::vector<int> extensions;
  for (const auto& [extension, contacts] : registrations) extensions.push_back(extension);
  return extensions;
}

// Every contact, every field, one line each.
std::vector<std::string> Described(const RegistrationsByExtension& registrations) {
  std::vector<std::string> lines;
  for (const auto& [extension, contacts] : registrations) {
    for (const ContactRegistration& contact : contacts) {
      lines.push_back(absl::StrCat(extension, " ", contact.uri, " ", contact.user_agent, " ",
                                   contact.status, " ", contact.rtt_ms, " ",
                                   contact.expires_at ? absl::FormatTime(*contact.expires_at) : "-"));
    }
  }
  return lines;
}

std::vector<std::string> ContactUris(const std::vector<ContactRegistration>& contacts) {
  std::vector<std::string> uris;
  for (const ContactRegistration& contact : contacts) uris.push_back(contact.uri);
  return uris;
}

TEST(ParseRegistrations, JoinsEachListedContactWithItsRecord) {
  const RegistrationsByExtension registrations = ParseRegistrations(kShowAors, kContactRecords);

  ASSERT_THAT(Extensions(registrations), ElementsAre(1000, 1001, 1002, 1003, 1005));
  const ContactRegistration& plain = registrations.at(1000).at(0);
  EXPECT_EQ(plain.uri, "sip:1000@127.0.0.1:40300");
  EXPECT_EQ(plain.user_agent, "bench-phone/1.0 (1000)");
  EXPECT_EQ(plain.status, "NonQual");
  EXPECT_EQ(plain.rtt_ms, 0);  // "-nan": never qualified
  EXPECT_THAT(plain.expires_at, Optional(absl::FromUnixSeconds(1796063067)));

  const ContactRegistration& qualified = registrations.at(1001).at(0);
  EXPECT_EQ(qualified.status, "Avail");
  EXPECT_DOUBLE_EQ(qualified.rtt_ms, 1501.217);
  EXPECT_EQ(registrations.at(1002).at(0).status, "Unavail");
  EXPECT_EQ(registrations.at(1002).at(0).rtt_ms, 0);
}

TEST(ParseRegistrations, TakesTheWholeUriAndUserAgentFromTheRecord) {
  const RegistrationsByExtension registrations = ParseRegistrations(kShowAors, kContactRecords);
  const ContactRegistration& odd = registrations.at(1003).at(0);
  // The listing shows "sip:1003-with-a-very-long-user-part-abc" only.
  EXPECT_EQ(odd.uri,
            "sip:1003-with-a-very-long-user-part-abcdefghijklmnopqrstuvwxyz@127.0.0.1:40305;"
            "transport=udp;x-line=0123456789abcdef");
  EXPECT_EQ(odd.user_agent, R"(Fancy "Phone" \ v2 ünï ; <x> {"uri":"sip:evil"})");
}

TEST(ParseRegistrations, KeepsEveryContactOfAnExtensionSortedByUri) {
  EXPECT_THAT(ContactUris(ParseRegistrations(kShowAors, kContactRecords).at(1005)),
              ElementsAre("sip:1005@127.0.0.1:40301", "sip:1005@127.0.0.1:40302"));
}

TEST(ParseRegistrations, ReadsThePjsipShowContactsTableToo) {
  EXPECT_EQ(Described(ParseRegistrations(kShowContacts, kContactRecords)),
            Described(ParseRegistrations(kShowAors, kContactRecords)));
}

TEST(ParseRegistrations, ReadsOneAorsListing) {
  const RegistrationsByExtension registrations =
      ParseRegistrations(kShowAor1000, absl::StrCat(kContactRecords, kContactRecord1000));
  ASSERT_THAT(Extensions(registrations), ElementsAre(1000));
  ASSERT_EQ(registrations.at(1000).size(), 1u);
  EXPECT_EQ(registrations.at(1000)[0].uri, "sip:1000@127.0.0.1:39900");
  EXPECT_EQ(registrations.at(1000)[0].user_agent, "pbx-bench");
}

TEST(ParseRegistrations, NeedsBothTheListingAndTheRecord) {
  // A record the listing does not show: expired (Asterisk drops it as it
  // lists), or of an AOR no longer configured.
  EXPECT_THAT(ParseRegistrations("No objects found.\n", kContactRecords), IsEmpty());
  // A listed contact without a record: a static contact, or one that came
  // between the two reads.
  EXPECT_THAT(ParseRegistrations(kShowAors, "0 results found.\n"), IsEmpty());
  // Same AOR, another hash: another contact.
  EXPECT_THAT(ParseRegistrations(absl::StrReplaceAll(kStatus1000, {{"76d24826ea", "76d24826eb"}}),
                                 kRecord1000),
              IsEmpty());
  EXPECT_THAT(Extensions(ParseRegistrations(kStatus1000, kRecord1000)), ElementsAre(1000));
}

TEST(ParseRegistrations, ReadsOnlyPortalExtensions) {
  for (const char* aor : {"2000", "0999", "01000", "10000", "alice"}) {
    const std::string status =
        absl::StrReplaceAll(kStatus1000, {{"1000/", absl::StrCat(aor, "/")}});
    const std::string record =
        absl::StrReplaceAll(kRecord1000, {{"contact/1000;@", absl::StrCat("contact/", aor, ";@")}});
    EXPECT_THAT(ParseRegistrations(status, record), IsEmpty()) << aor;
  }
}

TEST(ParseRegistrations, SkipsRecordsThatDoNotParse) {
  const std::string status =
      absl::StrCat(kStatus1000, absl::StrReplaceAll(kStatus1000, {{"1000/", "1001/"}}));
  auto record_1001 = [](absl::string_view json) {
    return absl::StrCat("/registrar/contact/1001;@76d24826ea1be4a95ff57c496c4ee4c3: ", json, "\n");
  };
  for (const std::string& broken : {record_1001(R"({"uri":"sip:1001@127.0.0.1")"),
                                    record_1001(R"(["sip:1001@127.0.0.1"])"),
                                    record_1001(R"({"user_agent":"no uri"})"),
                                    std::string("/registrar/contact/1001: {}\n")}) {
    EXPECT_THAT(Extensions(ParseRegistrations(status, absl::StrCat(broken, kRecord1000))),
                ElementsAre(1000))
        << broken;
  }
}

TEST(ParseRegistrations, AnExpiryOfZeroOrNoneIsNoExpiry) {
  for (absl::string_view replacement : {R"("expiration_time":"0")", R"("expiration_time":"")",
                                        R"("no_expiration_time":"1796063067")"}) {
    const std::string record =
        absl::StrReplaceAll(kRecord1000, {{R"("expiration_time":"1796063067")", replacement}});
    EXPECT_EQ(ParseRegistrations(kStatus1000, record).at(1000).at(0).expires_at, std::nullopt)
        << replacement;
  }
}

TEST(ParseRegistrations, NothingRegistered) {
  EXPECT_THAT(ParseRegistrations("No objects found.\n", "0 results found.\n"), IsEmpty());
}

}  // namespace
}  // namespace pbx
