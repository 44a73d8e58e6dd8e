#include "server/asterisk/concurrent_commands.h"

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace pbx {
namespace {

constexpr absl::string_view kHeaderTag = "@@pbx-results";
// The script's own exit status when it cannot make its temporary directory.
constexpr int kNoTemporaryDirectory = 125;

absl::Status Garbled(absl::string_view why) {
  return absl::InternalError(
      absl::StrCat("unexpected output from the concurrent commands: ", why));
}

std::string ConcurrentScript(const std::vector<std::string>& commands) {
  // Every process forked costs the better part of a millisecond on the host,
  // so the outputs are measured by one wc and sent by one cat.
  std::string script = absl::StrCat("d=$(mktemp -d) || exit ", kNoTemporaryDirectory,
                                    "\ntrap 'rm -rf -- \"$d\"' EXIT\n");
  std::string statuses, files;
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StrAppend(&script, "{ ", commands[i], "\n} >\"$d/", i, "\" 2>&1 &\np", i, "=$!\n");
    absl::StrAppend(&statuses, " \"$r", i, "\"");
    absl::StrAppend(&files, " \"$d/", i, "\"");
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StrAppend(&script, "wait \"$p", i, "\"; r", i, "=$?\n");
  }
  absl::StrAppend(&script, "echo ", kHeaderTag, statuses, "\nwc -c --", files,
                  " || exit 1\ncat --", files, "\n");
  return script;
}

}  // namespace

absl::StatusOr<std::vector<CommandResult>> ParseConcurrentOutput(absl::string_view output,
                                                                 size_t count) {
  auto next_line = [&output]() -> std::optional<absl::string_view> {
    const size_t end = output.find('\n');
    if (end == absl::string_view::npos) return std::nullopt;
    absl::string_view line = output.substr(0, end);
    output.remove_prefix(end + 1);
    return line;
  };
  // "@@pbx-results <status>..."
  std::optional<absl::string_view> header = next_line();
  if (!header) return Garbled("no header");
  const std::vector<absl::string_view> fields = absl::StrSplit(*header, ' ');
  if (fields.size() != count + 1 || fields[0] != kHeaderTag) return Garbled("bad header");
  std::vector<CommandResult> results(count);
  for (size_t i = 0; i < count; ++i) {
    if (!absl::SimpleAtoi(fields[i + 1], &results[i].exit_status)) {
      return Garbled("bad exit status");
    }
  }
  // wc: "<bytes> <file>" per file, then a total line when there are several.
  std::vector<size_t> sizes(count);
  for (size_t i = 0; i < count; ++i) {
    std::optional<absl::string_view> line = next_line();
    if (!line) return Garbled("byte counts cut short");
    const std::vector<absl::string_view> words =
        absl::StrSplit(*line, ' ', absl::SkipEmpty());
    if (words.size() != 2 || !absl::SimpleAtoi(words[0], &sizes[i])) {
      return Garbled("bad byte count");
    }
  }
  if (count > 1 && !next_line()) return Garbled("no total byte count");
  for (size_t i = 0; i < count; ++i) {
    if (output.size() < sizes[i]) return Garbled(absl::StrCat("output of command ", i, " cut short"));
    results[i].output = std::string(output.substr(0, sizes[i]));
    output.remove_prefix(sizes[i]);
  }
  if (!output.empty()) return Garbled("trailing bytes");
  return results;
}

absl::StatusOr<std::vector<CommandResult>> RunConcurrently(
    AsteriskHostSession& session, const std::vector<std::string>& commands) {
  if (commands.empty()) return std::vector<CommandResult>();
  absl::StatusOr<CommandResult> run = session.Run(ConcurrentScript(commands));
  if (!run.ok()) return run.status();
  if (run->exit_status != 0) {
    return absl::InternalError(absl::StrCat(
        run->exit_status == kNoTemporaryDirectory
            ? "cannot create a temporary directory on the host"
            : "the concurrent commands failed",
        " (exit ", run->exit_status, "): ", run->output));
  }
  return ParseConcurrentOutput(run->output, commands.size());
}

}  // namespace pbx
