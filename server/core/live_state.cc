#include "server/core/live_state.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/core/extension_pool.h"

namespace pbx {
namespace {

void CompareIds(absl::string_view kind, const std::vector<std::string>& expected,
                const std::vector<std::string>& live_all,
                std::vector<std::string>& differences) {
  std::set<std::string> want(expected.begin(), expected.end());
  std::set<std::string> have;
  for (const std::string& id : live_all) {
    if (IsPortalObjectId(id)) have.insert(id);
  }
  for (const std::string& id : want) {
    if (have.count(id) == 0) differences.push_back(absl::StrCat(kind, " ", id, ": missing"));
  }
  for (const std::string& id : have) {
    if (want.count(id) == 0) differences.push_back(absl::StrCat(kind, " ", id, ": unexpected"));
  }
}

}  // namespace

std::vector<std::string> ParsePjsipList(absl::string_view output, absl::string_view kind) {
  std::vector<std::string> ids;
  const std::string prefix = absl::StrCat(kind, ":");
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, prefix)) continue;
    line = absl::StripLeadingAsciiWhitespace(line);
    absl::string_view token = line.substr(0, line.find_first_of(" \t"));
    if (token.empty() || token.front() == '<') continue;  // the column header
    ids.emplace_back(token.substr(0, token.find('/')));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::map<std::string, std::string> ParseDialplanShow(absl::string_view output) {
  // "  '1000' =>         1. Dial(PJSIP/1000,25)      [file:line]"
  std::map<std::string, std::string> extensions;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "'")) continue;
    const size_t quote = line.find('\'');
    if (quote == absl::string_view::npos) continue;
    const std::string extension(line.substr(0, quote));
    line.remove_prefix(quote + 1);
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "=>")) continue;
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "1.")) continue;  // hints and labels aside
    line = absl::StripLeadingAsciiWhitespace(line);
    extensions[extension] = std::string(line.substr(0, line.find_first_of(" \t")));
  }
  return extensions;
}

std::vector<std::string> CompareLiveState(const ExpectedObjects& expected,
                                          const LiveState& live) {
  std::vector<std::string> differences;
  CompareIds("endpoint", expected.endpoints, live.endpoints, differences);
  CompareIds("aor", expected.aors, live.aors, differences);
  CompareIds("auth", expected.auths, live.auths, differences);
  std::set<std::string> want(expected.dialplan_extensions.begin(),
                             expected.dialplan_extensions.end());
  for (const std::string& extension : want) {
    auto it = live.dialplan.find(extension);
    const std::string dial = absl::StrFormat("Dial(PJSIP/%s,%d)", extension, kDialTimeoutSeconds);
    if (it == live.dialplan.end()) {
      differences.push_back(absl::StrCat("dialplan ", extension, ": missing"));
    } else if (it->second != dial) {
      differences.push_back(absl::StrCat("dialplan ", extension, ": runs ", it->second,
                                         " instead of ", dial));
    }
  }
  for (const auto& [extension, application] : live.dialplan) {
    if (want.count(extension) == 0) {
      differences.push_back(absl::StrCat("dialplan ", extension, ": unexpected"));
    }
  }
  return differences;
}

}  // namespace pbx
