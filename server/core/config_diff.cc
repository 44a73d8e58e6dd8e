#include "server/core/config_diff.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/core/extension_pool.h"

namespace pbx {
namespace {

// A line without its comment and surrounding blanks. Asterisk's `\;` escape
// never occurs in what the portal writes; a hand edit using it only makes
// the line compare unequal, which is the truth.
absl::string_view Clean(absl::string_view line) {
  line = line.substr(0, line.find(';'));
  return absl::StripAsciiWhitespace(line);
}

// "key = value" and "key => value" as "key=value".
std::string NormalizeOption(absl::string_view line) {
  const size_t eq = line.find('=');
  if (eq == absl::string_view::npos) return std::string(line);
  absl::string_view key = absl::StripTrailingAsciiWhitespace(line.substr(0, eq));
  absl::string_view value = line.substr(eq + 1);
  absl::ConsumePrefix(&value, ">");
  return absl::StrCat(key, "=", absl::StripLeadingAsciiWhitespace(value));
}

// Whether NormalizeOption(line) starts with "`key`=", and then the rest.
bool OptionValue(absl::string_view line, absl::string_view key, absl::string_view* value) {
  const size_t eq = line.find('=');
  if (eq == absl::string_view::npos ||
      absl::StripTrailingAsciiWhitespace(line.substr(0, eq)) != key) {
    return false;
  }
  absl::string_view rest = line.substr(eq + 1);
  absl::ConsumePrefix(&rest, ">");
  *value = absl::StripLeadingAsciiWhitespace(rest);
  return true;
}

struct Section {
  std::string name;
  std::vector<std::string> options;  // normalized, without "type=..."
  std::string type;
};

std::vector<Section> ParseSections(absl::string_view text) {
  std::vector<Section> sections;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    absl::string_view line = Clean(raw);
    if (line.empty()) continue;
    if (line.front() == '[') {
      const size_t close = line.find(']');
      if (close == absl::string_view::npos) continue;
      sections.push_back({std::string(absl::StripAsciiWhitespace(line.substr(1, close - 1))), {},
                          ""});
      continue;
    }
    if (sections.empty()) continue;
    std::string option = NormalizeOption(line);
    if (absl::StartsWith(option, "type=")) {
      sections.back().type = option.substr(5);
    } else {
      sections.back().options.push_back(std::move(option));
    }
  }
  return sections;
}

void SortIds(ExpectedObjects& objects) {
  for (auto* ids : {&objects.endpoints, &objects.aors, &objects.auths,
                    &objects.dialplan_extensions}) {
    std::sort(ids->begin(), ids->end());
    ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
  }
}

void ParsePjsip(absl::string_view pjsip, ConfigContents& contents) {
  for (Section& section : ParseSections(pjsip)) {
    if (section.type == "endpoint") {
      if (int n = PortalObjectNumber(section.name, false); n != 0) {
        contents.extensions[n].endpoint = std::move(section.options);
        contents.objects.endpoints.push_back(section.name);
      }
    } else if (section.type == "aor") {
      if (int n = PortalObjectNumber(section.name, false); n != 0) {
        contents.extensions[n].aor = std::move(section.options);
        contents.objects.aors.push_back(section.name);
      }
    } else if (section.type == "auth") {
      if (int n = PortalObjectNumber(section.name, true); n != 0) {
        contents.extensions[n].auth = std::move(section.options);
        contents.objects.auths.push_back(section.name);
      }
    }
  }
}

// The lines of [synergy-internal], each `exten => N,...` opening extension N
// and each `same => ...` continuing it.
void ParseDialplan(absl::string_view dialplan, ConfigContents& contents) {
  bool in_context = false;
  int current = 0;
  for (absl::string_view raw : absl::StrSplit(dialplan, '\n')) {
    absl::string_view line = Clean(raw);
    if (line.empty()) continue;
    if (line.front() == '[') {
      const size_t close = line.find(']');
      in_context = close != absl::string_view::npos && line.substr(1, close - 1) == kInternalContext;
      current = 0;
      continue;
    }
    if (!in_context) continue;
    std::string option = NormalizeOption(line);
    absl::string_view rest = option;
    if (absl::ConsumePrefix(&rest, "exten=")) {
      current = PortalObjectNumber(rest.substr(0, rest.find(',')), false);
      if (current != 0) contents.objects.dialplan_extensions.push_back(absl::StrCat(current));
    } else if (!absl::StartsWith(rest, "same=")) {
      current = 0;  // include =>, switch => ...: not an extension's line
    }
    if (current != 0) contents.extensions[current].dialplan.push_back(std::move(option));
  }
}

// The auth lines other than the password, and whether the passwords differ.
std::vector<std::string> WithoutPassword(const std::vector<std::string>& auth,
                                         std::string* password) {
  std::vector<std::string> rest;
  for (const std::string& line : auth) {
    if (absl::StartsWith(line, "password=")) {
      *password = line;
    } else {
      rest.push_back(line);
    }
  }
  return rest;
}

std::vector<std::string> Aspects(const ExtensionConfig& want, const ExtensionConfig& have) {
  std::vector<std::string> aspects;
  std::string want_password, have_password;
  const std::vector<std::string> want_auth = WithoutPassword(want.auth, &want_password);
  const std::vector<std::string> have_auth = WithoutPassword(have.auth, &have_password);
  if (want_password != have_password) aspects.push_back("password changed");
  if (want_auth != have_auth) aspects.push_back("auth changed");
  if (want.endpoint != have.endpoint) aspects.push_back("endpoint options changed");
  if (want.aor != have.aor) aspects.push_back("aor options changed");
  if (want.dialplan != have.dialplan) aspects.push_back("dialplan changed");
  return aspects;
}

bool OnlyBlanks(absl::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); });
}

template <typename OnLine>
void ForEachLine(absl::string_view text, OnLine on_line) {
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const size_t length = end == absl::string_view::npos ? text.size() : end + 1;
    on_line(text.substr(0, length));
    text.remove_prefix(length);
  }
}

}  // namespace

// One side of a diff: a pair of texts and where each extension's lines sit
// (outside the anonymous namespace: ExtensionLines's friend).
class CutSide {
 public:
  CutSide(const ExtensionLines& lines, absl::string_view pjsip, absl::string_view dialplan)
      : lines_(lines), pjsip_(pjsip), dialplan_(dialplan) {}

  bool Mentions(int number) const {
    const size_t i = number - kFirstExtension;
    return !lines_.pjsip_[i].empty() || !lines_.dialplan_[i].empty();
  }
  bool SameAs(const CutSide& other, int number) const {
    const size_t i = number - kFirstExtension;
    return Same(pjsip_, lines_.pjsip_[i], other.pjsip_, other.lines_.pjsip_[i]) &&
           Same(dialplan_, lines_.dialplan_[i], other.dialplan_, other.lines_.dialplan_[i]);
  }
  // The extension's config as ParseConfigFiles reads it; none when its
  // lines define no endpoint, auth, aor or dialplan line.
  std::optional<ExtensionConfig> Parse(int number) const {
    const size_t i = number - kFirstExtension;
    ConfigContents contents = ParseConfigFiles(
        Joined(pjsip_, lines_.pjsip_[i]),
        absl::StrCat("[", kInternalContext, "]\n", Joined(dialplan_, lines_.dialplan_[i])));
    auto it = contents.extensions.find(number);
    if (it == contents.extensions.end()) return std::nullopt;
    return std::move(it->second);
  }

 private:
  using Pieces = ExtensionLines::Pieces;

  static absl::string_view Slice(absl::string_view text, const ExtensionLines::Piece& piece) {
    return text.substr(piece.offset, piece.size);
  }
  static bool Same(absl::string_view a_text, const Pieces& a, absl::string_view b_text,
                   const Pieces& b) {
    if (a.size() <= 1 && b.size() <= 1) {
      return (a.empty() ? absl::string_view() : Slice(a_text, a[0])) ==
             (b.empty() ? absl::string_view() : Slice(b_text, b[0]));
    }
    return Joined(a_text, a) == Joined(b_text, b);
  }
  static std::string Joined(absl::string_view text, const Pieces& pieces) {
    std::string joined;
    for (const ExtensionLines::Piece& piece : pieces) absl::StrAppend(&joined, Slice(text, piece));
    return joined;
  }

  const ExtensionLines& lines_;
  absl::string_view pjsip_;
  absl::string_view dialplan_;
};

ExtensionLines::ExtensionLines(absl::string_view pjsip, absl::string_view dialplan)
    : pjsip_(kExtensionPoolSize), dialplan_(kExtensionPoolSize) {
  CutPjsip(pjsip);
  CutDialplan(dialplan);
}

void ExtensionLines::Add(Pieces& pieces, absl::string_view text, absl::string_view line) {
  const size_t offset = line.data() - text.data();
  if (!pieces.empty() && pieces.back().offset + pieces.back().size == offset) {
    pieces.back().size += line.size();
  } else {
    pieces.push_back({offset, line.size()});
  }
}

void ExtensionLines::CutPjsip(absl::string_view pjsip) {
  // Only a section header changes whose lines follow, so the text is cut at
  // its headers, found by their '[' rather than line by line: a header is a
  // line whose first non-blank character is '[' and which closes it with ']'
  // before any comment. Everything from one header to the next belongs to the
  // first one's extension, if it names one.
  int current = 0;
  size_t section_start = 0;
  size_t search = 0;
  while (search < pjsip.size()) {
    const size_t bracket = pjsip.find('[', search);
    if (bracket == absl::string_view::npos) break;
    const size_t newline_before = pjsip.rfind('\n', bracket);
    const size_t line_start = newline_before == absl::string_view::npos ? 0 : newline_before + 1;
    const size_t newline_after = pjsip.find('\n', bracket);
    const size_t line_end = newline_after == absl::string_view::npos ? pjsip.size()
                                                                     : newline_after + 1;
    search = line_end;
    if (!OnlyBlanks(pjsip.substr(line_start, bracket - line_start))) continue;
    const absl::string_view line = Clean(pjsip.substr(line_start, line_end - line_start));
    const size_t close = line.find(']');
    if (close == absl::string_view::npos) continue;
    if (current != 0 && line_start > section_start) {
      Add(pjsip_[current - kFirstExtension], pjsip,
          pjsip.substr(section_start, line_start - section_start));
    }
    const absl::string_view name = absl::StripAsciiWhitespace(line.substr(1, close - 1));
    current = PortalObjectNumber(name, absl::EndsWith(name, "-auth"));
    section_start = line_start;
  }
  if (current != 0 && pjsip.size() > section_start) {
    Add(pjsip_[current - kFirstExtension], pjsip, pjsip.substr(section_start));
  }
}

void ExtensionLines::CutDialplan(absl::string_view dialplan) {
  bool in_context = false;
  int current = 0;
  ForEachLine(dialplan, [&](absl::string_view raw) {
    absl::string_view line = Clean(raw);
    if (line.empty()) {
      if (current != 0) Add(dialplan_[current - kFirstExtension], dialplan, raw);
      return;
    }
    if (line.front() == '[') {
      const size_t close = line.find(']');
      in_context =
          close != absl::string_view::npos && line.substr(1, close - 1) == kInternalContext;
      current = 0;
      return;
    }
    if (!in_context) return;
    // As ParseDialplan reads NormalizeOption(line), without building it.
    absl::string_view value;
    if (OptionValue(line, "exten", &value)) {
      current = PortalObjectNumber(value.substr(0, value.find(',')), false);
    } else if (!OptionValue(line, "same", &value)) {
      current = 0;
    }
    if (current != 0) Add(dialplan_[current - kFirstExtension], dialplan, raw);
  });
}

ConfigContents ParseConfigFiles(absl::string_view pjsip, absl::string_view dialplan) {
  ConfigContents contents;
  ParsePjsip(pjsip, contents);
  ParseDialplan(dialplan, contents);
  SortIds(contents.objects);
  return contents;
}

ConfigDiff DiffConfigTexts(absl::string_view want_pjsip, absl::string_view want_dialplan,
                           absl::string_view have_pjsip, absl::string_view have_dialplan) {
  return DiffConfigTexts(ExtensionLines(want_pjsip, want_dialplan), want_pjsip, want_dialplan,
                         have_pjsip, have_dialplan);
}

ConfigDiff DiffConfigTexts(const ExtensionLines& want_lines, absl::string_view want_pjsip,
                           absl::string_view want_dialplan, absl::string_view have_pjsip,
                           absl::string_view have_dialplan) {
  const ExtensionLines have_lines(have_pjsip, have_dialplan);
  const CutSide want(want_lines, want_pjsip, want_dialplan);
  const CutSide have(have_lines, have_pjsip, have_dialplan);
  ConfigDiff diff;
  for (int number = kFirstExtension; number <= kLastExtension; ++number) {
    if (!want.Mentions(number) && !have.Mentions(number)) continue;
    if (want.SameAs(have, number)) continue;
    const std::optional<ExtensionConfig> wanted = want.Parse(number);
    const std::optional<ExtensionConfig> had = have.Parse(number);
    if (wanted && !had) {
      diff.added.push_back(number);
    } else if (!wanted && had) {
      diff.removed.push_back(number);
    } else if (wanted && had) {
      if (std::vector<std::string> aspects = Aspects(*wanted, *had); !aspects.empty()) {
        diff.changed.push_back({number, std::move(aspects)});
      }
    }
  }
  return diff;
}

ConfigDiff DiffConfigs(const ConfigContents& want, const ConfigContents& have) {
  ConfigDiff diff;
  for (const auto& [number, config] : want.extensions) {
    auto it = have.extensions.find(number);
    if (it == have.extensions.end()) {
      diff.added.push_back(number);
    } else if (std::vector<std::string> aspects = Aspects(config, it->second); !aspects.empty()) {
      diff.changed.push_back({number, std::move(aspects)});
    }
  }
  for (const auto& [number, config] : have.extensions) {
    if (want.extensions.count(number) == 0) diff.removed.push_back(number);
  }
  return diff;
}

}  // namespace pbx
