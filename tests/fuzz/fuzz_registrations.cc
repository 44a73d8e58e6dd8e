// libFuzzer harness for ParseRegistrations (server/core/registrations): the
// two Asterisk CLI reads joined into each portal extension's registered
// contacts. The contact URI and the user agent in a record come from phones.
//
// Input (see fuzz_input.h): the contact listing (`pjsip show aors` / `pjsip
// show contacts`), then "\|", then the registrar's records (`database show
// registrar/contact`). A missing field is empty; further fields are ignored.
//
// Properties:
//   - the result equals an independent oracle written from the header's
//     contract (Oracle below: its own line and column splitting, its own
//     strict JSON reader and number parsing, no absl or nlohmann): a contact
//     per record line whose AOR is a portal extension ("1000".."1999") and
//     whose hash's first 10 characters are listed for that AOR (the last such
//     listing line gives status and RTT), with the record's JSON an object
//     holding a non-empty string "uri"; user agent and expiry from the record;
//   - every extension is in 1000-1999 and has at least one contact, contacts
//     are sorted by URI, URIs are non-empty, every rtt_ms is finite and >= 0;
//   - each extension is named in the listing, and when the records hold no
//     backslash (no JSON escapes) each URI appears in them verbatim, quoted;
//   - parsing is deterministic: a second parse returns the same result;
//   - lines naming no portal contact (other AORs, 2000, 0999, the table
//     header, counts; records that do not parse or have no uri, also for the
//     listed contacts) change nothing, nor do CRLF line ends; reversing the
//     records changes at most the order of contacts with the same URI.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "server/core/registrations.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using pbx::ContactRegistration;
using pbx::RegistrationsByExtension;
using pbx::fuzz::Fail;

constexpr char kHarness[] = "fuzz_registrations";

// ---------------------------------------------------------------- text helpers

// ASCII whitespace as absl::ascii_isspace has it.
bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsDigit(int c) { return c >= '0' && c <= '9'; }

// The text cut at each '\n' (a final piece without one included).
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      return lines;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::string Escaped(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 200)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && c != '\\') {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

// ---------------------------------------------------------------- the oracle

// The AOR ids of portal extensions: "1000".."1999", four ASCII digits.
std::optional<int> PortalAor(std::string_view aor) {
  if (aor.size() != 4 || aor[0] != '1') return std::nullopt;
  int number = 0;
  for (const char c : aor) {
    if (!IsDigit(c)) return std::nullopt;
    number = number * 10 + (c - '0');
  }
  return number;
}

struct Listed {
  std::string status;
  std::string rtt;  // the RTT column as listed
};
using ListingKey = std::pair<int, std::string>;  // extension, hash as listed

// "  Contact:  1000/sip:...  4887ab837e  Avail  12.345": after the tag, columns
// split at spaces, tabs and CRs; at least four; the first starts with the AOR
// (up to a '/'); the last three are hash, status and RTT. A later line for
// the same contact replaces an earlier one.
std::map<ListingKey, Listed> OracleListing(std::string_view text) {
  constexpr std::string_view kTag = "Contact:";
  auto separates = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  std::map<ListingKey, Listed> listed;
  for (std::string_view line : Lines(text)) {
    while (!line.empty() && IsAsciiSpace(line.front())) line.remove_prefix(1);
    if (line.substr(0, kTag.size()) != kTag) continue;
    line.remove_prefix(kTag.size());
    std::vector<std::string_view> columns;
    for (size_t i = 0; i < line.size();) {
      while (i < line.size() && separates(line[i])) ++i;
      const size_t start = i;
      while (i < line.size() && !separates(line[i])) ++i;
      if (i > start) columns.push_back(line.substr(start, i - start));
    }
    if (columns.size() < 4) continue;
    const std::optional<int> extension = PortalAor(columns[0].substr(0, columns[0].find('/')));
    if (!extension) continue;
    const size_t n = columns.size();
    listed[{*extension, std::string(columns[n - 3])}] = {std::string(columns[n - 2]),
                                                         std::string(columns[n - 1])};
  }
  return listed;
}

bool ContainsNoCase(std::string_view text, std::string_view word) {
  for (size_t i = 0; i + word.size() <= text.size(); ++i) {
    bool match = true;
    for (size_t k = 0; k < word.size() && match; ++k) {
      char c = text[i + k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      match = c == word[k];
    }
    if (match) return true;
  }
  return false;
}

// The RTT a listed column must give: milliseconds for a plain decimal
// ("-?d{1,15}(.d{1,15})?", exactly as strtod rounds it; a negative one gives
// 0), 0 for "-nan"/"nan"/"inf" forms. nullopt for other number forms, whose
// rtt_ms is only checked to be finite and >= 0.
std::optional<double> ExpectedRtt(std::string_view column) {
  if (ContainsNoCase(column, "nan") || ContainsNoCase(column, "inf")) return 0.0;
  std::string_view rest = column;
  if (!rest.empty() && rest.front() == '-') rest.remove_prefix(1);
  const size_t dot = rest.find('.');
  const std::string_view whole = rest.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() <= 15 && std::all_of(s.begin(), s.end(), IsDigit);
  };
  if (!digits(whole) || (dot != std::string_view::npos && !digits(fraction))) return std::nullopt;
  const double value = std::strtod(std::string(column).c_str(), nullptr);
  return value < 0 ? 0.0 : value;
}

// expiration_time: Unix seconds, surrounding ASCII whitespace and a '+'
// allowed; none for 0, a negative, an overflowing or a malformed one.
std::optional<absl::Time> ExpectedExpiry(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  uint64_t seconds = 0;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  for (const char c : text) {
    if (!IsDigit(c)) return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (seconds > (kMax - digit) / 10) return std::nullopt;
    seconds = seconds * 10 + digit;
  }
  if (seconds == 0) return std::nullopt;
  return absl::FromUnixSeconds(static_cast<int64_t>(seconds));
}

// A JSON text as nlohmann::json::parse(text, nullptr, false) reads it: RFC
// 8259, strict (valid UTF-8 in strings, paired surrogate escapes, no control
// characters, no trailing commas or comments), a leading UTF-8 BOM skipped, a
// number whose value overflows a double refused, a NUL byte taken for the end
// of the input, the last of repeated member names kept. Reduced to what the
// parser reads: the members of a top-level object, the string ones with their
// value.
class JsonReader {
 public:
  using Members = std::map<std::string, std::optional<std::string>>;

  explicit JsonReader(std::string_view text) : s_(text) {}

  std::optional<Members> TopLevelObject() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;
    SkipWhitespace();
    if (!Consume('{')) return std::nullopt;
    Members members;
    SkipWhitespace();
    if (!Consume('}')) {
      for (;;) {
        std::string name;
        SkipWhitespace();
        if (!String(&name)) return std::nullopt;
        SkipWhitespace();
        if (!Consume(':')) return std::nullopt;
        SkipWhitespace();
        if (Peek() == '"') {
          std::string value;
          if (!String(&value)) return std::nullopt;
          members[name] = std::move(value);
        } else {
          if (!SkipValue()) return std::nullopt;
          members[name] = std::nullopt;
        }
        SkipWhitespace();
        if (Consume(',')) continue;
        if (Consume('}')) break;
        return std::nullopt;
      }
    }
    SkipWhitespace();
    if (Peek() != kEnd && Peek() != 0) return std::nullopt;
    return members;
  }

 private:
  static constexpr int kEnd = -1;

  int Peek() const { return i_ < s_.size() ? static_cast<unsigned char>(s_[i_]) : kEnd; }
  bool Consume(char c) {
    if (Peek() != static_cast<unsigned char>(c)) return false;
    ++i_;
    return true;
  }
  void SkipWhitespace() {
    while (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r') ++i_;
  }

  bool Hex4(uint32_t* value) {
    *value = 0;
    for (int k = 0; k < 4; ++k) {
      const int c = Peek();
      uint32_t digit;
      if (IsDigit(c)) {
        digit = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      *value = *value * 16 + digit;
      ++i_;
    }
    return true;
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (out == nullptr) return;
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // The length of the well-formed UTF-8 sequence (Unicode Table 3-7) of two
  // or more bytes at i_, or 0.
  size_t Utf8Sequence() const {
    auto byte = [&](size_t k) -> int {
      return i_ + k < s_.size() ? static_cast<unsigned char>(s_[i_ + k]) : kEnd;
    };
    auto in = [](int b, int lo, int hi) { return b >= lo && b <= hi; };
    const int b0 = byte(0);
    size_t n;
    int lo = 0x80, hi = 0xBF;
    if (in(b0, 0xC2, 0xDF)) {
      n = 2;
    } else if (b0 == 0xE0) {
      n = 3, lo = 0xA0;
    } else if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) {
      n = 3;
    } else if (b0 == 0xED) {
      n = 3, hi = 0x9F;
    } else if (b0 == 0xF0) {
      n = 4, lo = 0x90;
    } else if (in(b0, 0xF1, 0xF3)) {
      n = 4;
    } else if (b0 == 0xF4) {
      n = 4, hi = 0x8F;
    } else {
      return 0;
    }
    if (!in(byte(1), lo, hi)) return 0;
    for (size_t k = 2; k < n; ++k) {
      if (!in(byte(k), 0x80, 0xBF)) return 0;
    }
    return n;
  }

  // A string at i_; its value appended to *out unless out is null.
  bool String(std::string* out) {
    if (!Consume('"')) return false;
    for (;;) {
      const int c = Peek();
      if (c == kEnd || c < 0x20) return false;
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c == '\\') {
        ++i_;
        const int e = Peek();
        if (e == kEnd) return false;
        ++i_;
        uint32_t cp;
        switch (e) {
          case '"': cp = '"'; break;
          case '\\': cp = '\\'; break;
          case '/': cp = '/'; break;
          case 'b': cp = '\b'; break;
          case 'f': cp = '\f'; break;
          case 'n': cp = '\n'; break;
          case 'r': cp = '\r'; break;
          case 't': cp = '\t'; break;
          case 'u':
            if (!Hex4(&cp)) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t low;
              if (!Consume('\\') || !Consume('u') || !Hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
                return false;
              }
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return false;
            }
            break;
          default:
            return false;
        }
        AppendUtf8(out, cp);
        continue;
      }
      if (c < 0x80) {
        if (out != nullptr) *out += static_cast<char>(c);
        ++i_;
        continue;
      }
      const size_t n = Utf8Sequence();
      if (n == 0) return false;
      if (out != nullptr) out->append(s_.substr(i_, n));
      i_ += n;
    }
  }

  bool Number() {
    const size_t start = i_;
    Consume('-');
    if (!Consume('0')) {
      if (!IsDigit(Peek())) return false;
      while (IsDigit(Peek())) ++i_;
    }
    if (Consume('.')) {
      if (!IsDigit(Peek())) return false;
      while (IsDigit(Peek())) ++i_;
    }
    if (Consume('e') || Consume('E')) {
      if (!Consume('+')) Consume('-');
      if (!IsDigit(Peek())) return false;
      while (IsDigit(Peek())) ++i_;
    }
    const std::string number(s_.substr(start, i_ - start));
    return std::isfinite(std::strtod(number.c_str(), nullptr));
  }

  bool Literal() {
    for (const std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return true;
      }
    }
    return false;
  }

  bool MemberName() {
    SkipWhitespace();
    if (!String(nullptr)) return false;
    SkipWhitespace();
    return Consume(':');
  }

  // Any JSON value at i_ (without recursion: the nesting may be deep).
  bool SkipValue() {
    std::vector<char> open;  // '{' or '[' of each container entered
    for (;;) {
      SkipWhitespace();
      const int c = Peek();
      if (c == '{' || c == '[') {
        ++i_;
        SkipWhitespace();
        if (!Consume(c == '{' ? '}' : ']')) {
          open.push_back(static_cast<char>(c));
          if (c == '{' && !MemberName()) return false;
          continue;  // a value follows
        }
      } else if (c == '"') {
        if (!String(nullptr)) return false;
      } else if (c == 't' || c == 'f' || c == 'n') {
        if (!Literal()) return false;
      } else if (!Number()) {
        return false;
      }
      // A value ended: close the containers it completes.
      for (;;) {
        if (open.empty()) return true;
        SkipWhitespace();
        if (Consume(',')) {
          if (open.back() == '{' && !MemberName()) return false;
          break;
        }
        if (!Consume(open.back() == '{' ? '}' : ']')) return false;
        open.pop_back();
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

struct Expected {
  int extension = 0;
  std::string uri;
  std::string user_agent;
  std::string status;
  std::optional<double> rtt_ms;  // nullopt: any finite value >= 0
  std::optional<absl::Time> expires_at;
};

// "/registrar/contact/1000;@<hash>: {json}": the key up to the first ": ",
// the AOR up to the key's first ";@", the JSON after the ": ", trimmed of
// ASCII whitespace.
std::vector<Expected> Oracle(std::string_view records,
                             const std::map<ListingKey, Listed>& listed) {
  constexpr std::string_view kPrefix = "/registrar/contact/";
  std::vector<Expected> expected;
  for (std::string_view line : Lines(records)) {
    if (line.substr(0, kPrefix.size()) != kPrefix) continue;
    line.remove_prefix(kPrefix.size());
    const size_t key_end = line.find(": ");
    if (key_end == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, key_end);
    const size_t at = key.find(";@");
    if (at == std::string_view::npos) continue;
    const std::optional<int> extension = PortalAor(key.substr(0, at));
    if (!extension) continue;
    const auto listing = listed.find({*extension, std::string(key.substr(at + 2, 10))});
    if (listing == listed.end()) continue;
    const std::optional<JsonReader::Members> members =
        JsonReader(Trim(line.substr(key_end + 2))).TopLevelObject();
    if (!members) continue;
    auto text = [&](const char* name) {
      const auto it = members->find(name);
      return it != members->end() && it->second ? *it->second : std::string();
    };
    Expected contact;
    contact.extension = *extension;
    contact.uri = text("uri");
    if (contact.uri.empty()) continue;
    contact.user_agent = text("user_agent");
    contact.status = listing->second.status;
    contact.rtt_ms = ExpectedRtt(listing->second.rtt);
    contact.expires_at = ExpectedExpiry(text("expiration_time"));
    expected.push_back(std::move(contact));
  }
  return expected;
}

// ---------------------------------------------------------------- comparing

std::string Describe(int extension, const std::string& uri, const std::string& user_agent,
                     const std::string& status, const std::string& rtt,
                     const std::optional<absl::Time>& expires_at) {
  return std::to_string(extension) + " uri=\"" + Escaped(uri) + "\" ua=\"" + Escaped(user_agent) +
         "\" status=\"" + Escaped(status) + "\" rtt=" + rtt + " expires=" +
         (expires_at ? std::to_string(absl::ToUnixSeconds(*expires_at)) : "-");
}

std::string RttText(double rtt) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g(%a)", rtt, rtt);
  return text;
}

std::string Describe(int extension, const ContactRegistration& c) {
  return Describe(extension, c.uri, c.user_agent, c.status, RttText(c.rtt_ms), c.expires_at);
}

std::string Describe(const Expected& e) {
  return Describe(e.extension, e.uri, e.user_agent, e.status,
                  e.rtt_ms ? RttText(*e.rtt_ms) : "any", e.expires_at);
}

// The whole result, every field exactly, in order.
std::string Serialized(const RegistrationsByExtension& registrations) {
  std::string out;
  for (const auto& [extension, contacts] : registrations) {
    out += std::to_string(extension) + ":\n";
    for (const ContactRegistration& c : contacts) out += "  " + Describe(extension, c) + "\n";
  }
  return out;
}

// The same with each extension's contacts in a canonical order (contacts
// with the same URI may come in any order).
std::string Canonical(RegistrationsByExtension registrations) {
  for (auto& [extension, contacts] : registrations) {
    std::sort(contacts.begin(), contacts.end(),
              [extension = extension](const ContactRegistration& a, const ContactRegistration& b) {
                return Describe(extension, a) < Describe(extension, b);
              });
  }
  return Serialized(registrations);
}

using MatchKey = std::tuple<std::string, std::string, std::string, std::optional<int64_t>>;

MatchKey KeyOf(const std::string& uri, const std::string& user_agent, const std::string& status,
               const std::optional<absl::Time>& expires_at) {
  return {uri, user_agent, status,
          expires_at ? std::optional<int64_t>(absl::ToUnixSeconds(*expires_at)) : std::nullopt};
}

// The result holds exactly the expected contacts (as a multiset per
// extension); "" or what differs.
std::string CompareWithOracle(const RegistrationsByExtension& actual,
                              const std::vector<Expected>& expected) {
  // extension -> key -> (actual RTTs, expected RTTs)
  using Rtts = std::pair<std::vector<double>, std::vector<std::optional<double>>>;
  std::map<int, std::map<MatchKey, Rtts>> groups;
  std::map<int, std::pair<size_t, size_t>> counts;
  for (const auto& [extension, contacts] : actual) {
    for (const ContactRegistration& c : contacts) {
      groups[extension][KeyOf(c.uri, c.user_agent, c.status, c.expires_at)].first.push_back(
          c.rtt_ms);
      ++counts[extension].first;
    }
  }
  for (const Expected& e : expected) {
    groups[e.extension][KeyOf(e.uri, e.user_agent, e.status, e.expires_at)].second.push_back(
        e.rtt_ms);
    ++counts[e.extension].second;
  }
  std::string problems;
  auto report = [&](const std::string& problem) {
    if (problems.size() < 4000) problems += problem + "\n";
  };
  for (const auto& [extension, count] : counts) {
    if (count.first != count.second) {
      report("extension " + std::to_string(extension) + ": " + std::to_string(count.first) +
             " contacts, the oracle expects " + std::to_string(count.second));
    }
  }
  for (auto& [extension, by_key] : groups) {
    for (auto& [key, rtts] : by_key) {
      std::vector<double>& got = rtts.first;
      const std::vector<std::optional<double>>& want = rtts.second;
      const auto& [uri, user_agent, status, expires] = key;
      const std::optional<absl::Time> expires_at =
          expires ? std::optional<absl::Time>(absl::FromUnixSeconds(*expires)) : std::nullopt;
      const std::string what = Describe(extension, uri, user_agent, status, "", expires_at);
      if (got.size() != want.size()) {
        report("contact " + what + ": " + std::to_string(got.size()) + " in the result, " +
               std::to_string(want.size()) + " expected");
        continue;
      }
      // The known RTTs each take an equal one; the unknown ones any that is left.
      for (const std::optional<double>& rtt : want) {
        if (!rtt) continue;
        const auto it = std::find(got.begin(), got.end(), *rtt);
        if (it == got.end()) {
          report("contact " + what + ": no rtt_ms " + RttText(*rtt) + " in the result");
          break;
        }
        got.erase(it);
      }
    }
  }
  if (!problems.empty()) {
    problems += "expected:\n";
    for (size_t k = 0; k < expected.size() && k < 20; ++k) {
      problems += "  " + Describe(expected[k]) + "\n";
    }
    problems += "result:\n" + Serialized(actual).substr(0, 4000);
  }
  return problems;
}

// What every result must satisfy on its own; "" or the first violation.
std::string CheckShape(const RegistrationsByExtension& result, std::string_view statuses,
                       std::string_view records) {
  const bool no_escapes = records.find('\\') == std::string_view::npos;
  for (const auto& [extension, contacts] : result) {
    if (extension < 1000 || extension > 1999) {
      return "extension " + std::to_string(extension) + " is not a portal extension";
    }
    if (contacts.empty()) return "extension " + std::to_string(extension) + " with no contacts";
    if (statuses.find(std::to_string(extension)) == std::string_view::npos) {
      return "extension " + std::to_string(extension) + " is not in the listing";
    }
    for (size_t k = 0; k < contacts.size(); ++k) {
      const ContactRegistration& c = contacts[k];
      if (c.uri.empty()) return "an empty URI: " + Describe(extension, c);
      if (!std::isfinite(c.rtt_ms) || c.rtt_ms < 0) {
        return "rtt_ms not finite and >= 0: " + Describe(extension, c);
      }
      if (k > 0 && contacts[k - 1].uri > c.uri) {
        return "contacts not sorted by URI: " + Describe(extension, contacts[k - 1]) + " before " +
               Describe(extension, c);
      }
      if (no_escapes && records.find("\"" + c.uri + "\"") == std::string_view::npos) {
        return "a URI the records do not hold: " + Describe(extension, c);
      }
    }
  }
  return "";
}

// Lines that name no portal contact, as the listing and the records can hold them.
constexpr char kListingNoise[] =
    "      Aor:  <Aor..............................................>  <MaxContact>\n"
    "    Contact:  <Aor/ContactUri............................> <Hash....> <Status> <RTT(ms)..>\n"
    "==========================================================================================\n"
    "    Contact:  alice/sip:alice@127.0.0.1:40306              f0e10196c6 NonQual        -nan\n"
    "    Contact:  trunk/sip:trunk@127.0.0.1:5999               5ded09c6e1 Avail        1.500\n"
    "    Contact:  2000/sip:2000@127.0.0.1:5060                 76d24826ea Avail        2.000\n"
    "    Contact:  0999/sip:0999@127.0.0.1:5060                 76d24826ea Avail        3.000\n"
    "    Contact:  10000/sip:10000@127.0.0.1:5060               76d24826ea Avail        4.000\n"
    "\n"
    "Objects found: 8\n";
constexpr char kRecordNoise[] =
    "/registrar/contact/alice;@f0e10196c6bb6bfcb82c3c4573f9899e: "
    "{\"uri\":\"sip:alice@127.0.0.1:40306\",\"user_agent\":\"x\",\"expiration_time\":\"1\"}\n"
    "/registrar/contact/trunk;@5ded09c6e1bb6bfcb82c3c4573f9899e: {\"uri\":\"sip:trunk@x\"}\n"
    "/registrar/contact/2000;@76d24826ea1be4a95ff57c496c4ee4c3: {\"uri\":\"sip:2000@x\"}\n"
    "/registrar/contact/0999;@76d24826ea1be4a95ff57c496c4ee4c3: {\"uri\":\"sip:0999@x\"}\n"
    "/registrar/contact/10000;@76d24826ea1be4a95ff57c496c4ee4c3: {\"uri\":\"sip:10000@x\"}\n"
    "7 results found.\n";

// kRecordNoise plus, for each listed portal contact, records of it that do
// not count: not JSON, not an object, no uri, an empty one, a non-string one.
std::string RecordNoise(const std::map<ListingKey, Listed>& listed) {
  std::string noise = kRecordNoise;
  for (const auto& [key, unused] : listed) {
    const std::string prefix =
        "/registrar/contact/" + std::to_string(key.first) + ";@" + key.second + ": ";
    noise += prefix + "{\"uri\":\"sip:noise@192.0.2.1\"\n";
    noise += prefix + "[\"sip:noise@192.0.2.1\"]\n";
    noise += prefix + "{\"user_agent\":\"no uri\"}\n";
    noise += prefix + "{\"uri\":\"\",\"user_agent\":\"empty uri\"}\n";
    noise += prefix + "{\"uri\":5060}\n";
    noise += prefix + "{\"uri\":\"sip:noise@192.0.2.1\",}\n";
  }
  return noise;
}

std::string Crlf(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::string ReversedLines(std::string_view text) {
  std::vector<std::string_view> lines = Lines(text);
  std::reverse(lines.begin(), lines.end());
  std::string out;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (k > 0) out += '\n';
    out += lines[k];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pbx::fuzz::FieldReader in(data, size);
  const std::string statuses = in.Next();
  const std::string records = in.Next();

  const RegistrationsByExtension result = pbx::ParseRegistrations(statuses, records);
  if (std::string problem = CheckShape(result, statuses, records); !problem.empty()) {
    Fail(kHarness, problem);
  }
  const std::map<ListingKey, Listed> listed = OracleListing(statuses);
  if (std::string problem = CompareWithOracle(result, Oracle(records, listed));
      !problem.empty()) {
    Fail(kHarness, "the result differs from the oracle's:\n" + problem);
  }

  const std::string serialized = Serialized(result);
  if (Serialized(pbx::ParseRegistrations(statuses, records)) != serialized) {
    Fail(kHarness, "a second parse of the same input differs");
  }
  const std::string noisy_statuses =
      std::string(kListingNoise) + statuses + "\n" + kListingNoise;
  const std::string record_noise = RecordNoise(listed);
  const std::string noisy_records = record_noise + records + "\n" + record_noise;
  if (Serialized(pbx::ParseRegistrations(noisy_statuses, noisy_records)) != serialized) {
    Fail(kHarness, "lines naming no portal contact changed the result");
  }
  if (Serialized(pbx::ParseRegistrations(Crlf(statuses), Crlf(records))) != serialized) {
    Fail(kHarness, "CRLF line ends changed the result");
  }
  if (Canonical(pbx::ParseRegistrations(statuses, ReversedLines(records))) != Canonical(result)) {
    Fail(kHarness, "the order of the records changed the result");
  }
  return 0;
}
