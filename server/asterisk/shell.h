#ifndef PBX_SERVER_ASTERISK_SHELL_H_
#define PBX_SERVER_ASTERISK_SHELL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pbx {

// `text` as one /bin/sh word: single-quoted, with embedded quotes escaped.
std::string ShellQuote(absl::string_view text);

// `command` with its standard error merged into standard output, in the
// order both were written: what CommandResult::output holds.
std::string WithStderrMerged(absl::string_view command);

}  // namespace pbx

#endif  // PBX_SERVER_ASTERISK_SHELL_H_
