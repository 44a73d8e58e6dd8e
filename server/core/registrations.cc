#include "server/core/registrations.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/core/extension_pool.h"

namespace pbx {
namespace {

// The CLI tables print this much of a contact's hash (`%-10.10s`).
constexpr size_t kListedHashChars = 10;

constexpr absl::string_view kRecordPrefix = "/registrar/contact/";

// A contact as the listing names it: its extension and its hash as listed.
using ContactKey = std::pair<int, std::string>;

struct ContactStatus {
  std::string status;
  double rtt_ms = 0;
};

// 1000 for the AOR id "1000": the portal names each AOR by its extension, in
// four digits. nullopt for any other AOR (a trunk, a manual one).
std::optional<int> PortalExtensionOf(absl::string_view aor) {
  int number;
  if (aor.size() != 4 || !absl::SimpleAtoi(aor, &number) || !IsPortalExtension(number)) {
    return std::nullopt;
  }
  return number;
}

// The RTT column: milliseconds, "-nan" (or "nan") until a qualify answered.
double RttMs(absl::string_view text) {
  double rtt;
  if (!absl::SimpleAtod(text, &rtt) || !std::isfinite(rtt) || rtt < 0) return 0;
  return rtt;
}

// "  Contact:  1000/sip:1000@192.0.2.1:5060  4887ab837e  Avail  12.345" lines.
// Read from the right: the URI column is cut to its width, never the last
// three (a hash, a one-word status, a number).
std::map<ContactKey, ContactStatus> ParseContactStatuses(absl::string_view output) {
  std::map<ContactKey, ContactStatus> statuses;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "Contact:")) continue;
    const std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.size() < 4 || words.front().front() == '<') continue;  // the column header
    const absl::string_view contact_id = words.front();
    const std::optional<int> extension =
        PortalExtensionOf(contact_id.substr(0, contact_id.find('/')));
    if (!extension) continue;
    const size_t n = words.size();
    statuses[{*extension, std::string(words[n - 3])}] = {std::string(words[n - 2]),
                                                         RttMs(words[n - 1])};
  }
  return statuses;
}

std::string StringField(const nlohmann::json& record, const char* name) {
  auto it = record.find(name);
  return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// expiration_time: Unix seconds as a string; 0 or none means no expiry.
std::optional<absl::Time> ExpiryOf(absl::string_view text) {
  int64_t seconds;
  if (!absl::SimpleAtoi(text, &seconds) || seconds <= 0) return std::nullopt;
  return absl::FromUnixSeconds(seconds);
}

}  // namespace

RegistrationsByExtension ParseRegistrations(absl::string_view contact_statuses,
                                            absl::string_view contact_records) {
  const std::map<ContactKey, ContactStatus> statuses = ParseContactStatuses(contact_statuses);
  RegistrationsByExtension registrations;
  // "/registrar/contact/1000;@4887ab837e3ee806aba0777116cb4a62: {...}"
  for (absl::string_view line : absl::StrSplit(contact_records, '\n')) {
    if (!absl::ConsumePrefix(&line, kRecordPrefix)) continue;
    const size_t key_end = line.find(": ");
    if (key_end == absl::string_view::npos) continue;
    const absl::string_view contact_id = line.substr(0, key_end);
    const size_t separator = contact_id.find(";@");
    if (separator == absl::string_view::npos) continue;
    const std::optional<int> extension = PortalExtensionOf(contact_id.substr(0, separator));
    if (!extension) continue;
    const absl::string_view hash = contact_id.substr(separator + 2);
    auto status = statuses.find({*extension, std::string(hash.substr(0, kListedHashChars))});
    if (status == statuses.end()) continue;

    const nlohmann::json record = nlohmann::json::parse(
        absl::StripAsciiWhitespace(line.substr(key_end + 2)), nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) continue;  // discarded: not JSON
    ContactRegistration contact;
    contact.uri = StringField(record, "uri");
    if (contact.uri.empty()) continue;
    contact.user_agent = StringField(record, "user_agent");
    contact.status = status->second.status;
    contact.rtt_ms = status->second.rtt_ms;
    contact.expires_at = ExpiryOf(StringField(record, "expiration_time"));
    registrations[*extension].push_back(std::move(contact));
  }
  for (auto& [extension, contacts] : registrations) {
    std::sort(contacts.begin(), contacts.end(),
              [](const ContactRegistration& a, const ContactRegistration& b) {
                return a.uri < b.uri;
              });
  }
  return registrations;
}

void AddHostRegistrations(absl::string_view host, RegistrationsByExtension host_contacts,
                          RegistrationsByExtension& all) {
  for (auto& [extension, contacts] : host_contacts) {
    std::vector<ContactRegistration>& merged = all[extension];
    for (ContactRegistration& contact : contacts) {
      contact.host = std::string(host);
      merged.push_back(std::move(contact));
    }
  }
}

}  // namespace pbx
