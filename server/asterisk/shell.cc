#include "server/asterisk/shell.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace pbx {

std::string ShellQuote(absl::string_view text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

std::string WithStderrMerged(absl::string_view command) {
  return absl::StrCat("{ ", command, "\n} 2>&1");
}

}  // namespace pbx
