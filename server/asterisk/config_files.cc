#include "server/asterisk/config_files.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/asterisk/shell.h"
#include "server/common/failpoint.h"
#include "server/core/error_info.h"

namespace pbx {
namespace {

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {path.substr(0, slash == 0 ? 1 : slash), path.substr(slash + 1)};
}

}  // namespace

std::string TemporaryPathFor(const std::string& path, const std::string& suffix) {
  auto [directory, name] = SplitPath(path);
  return absl::StrCat(directory, "/.", name, ".tmp-", suffix);
}

namespace {

// Every temporary of `path`, whatever Apply made it: a shell glob with the
// directory and name quoted.
std::string AnyTemporaryOf(const std::string& path) {
  auto [directory, name] = SplitPath(path);
  return absl::StrCat(ShellQuote(directory + "/." + name + ".tmp-"), "*");
}

}  // namespace

namespace {

void RemoveTemporaries(AsteriskHostSession& session, const std::vector<std::string>& temporaries) {
  if (temporaries.empty()) return;
  std::vector<std::string> quoted;
  for (const std::string& path : temporaries) quoted.push_back(ShellQuote(path));
  // Best effort: if the connection is gone, the next Apply removes them.
  (void)session.Run(absl::StrCat("rm -f -- ", absl::StrJoin(quoted, " ")));
}

}  // namespace

absl::StatusOr<StagedFiles> StageFiles(AsteriskHostSession& session,
                                       const std::vector<FileWrite>& files,
                                       const std::string& suffix) {
  StagedFiles staged;
  for (const FileWrite& file : files) {
    const std::string temporary = TemporaryPathFor(file.path, suffix);
    staged.temporaries.push_back(temporary);
    staged.targets.push_back(file.path);
    if (absl::Status status = session.CreateFile(temporary, file.content); !status.ok()) {
      RemoveTemporaries(session, staged.temporaries);
      return status;
    }
    Failpoint("apply.during_upload");
  }
  return staged;
}

namespace {

// Exit statuses of the commit script, so a failure says what is live.
constexpr int kCannotPrepare = 90;   // group or mode: nothing replaced
constexpr int kCannotRename = 100;   // + index of the file whose rename failed
constexpr int kCannotSync = 120;     // every file replaced, not yet durable

std::string CommitScript(const StagedFiles& staged, const std::string& group) {
  std::vector<std::string> temporaries;
  for (const std::string& temporary : staged.temporaries) {
    temporaries.push_back(ShellQuote(temporary));
  }
  const std::string temporary_list = absl::StrJoin(temporaries, " ");
  std::string script;
  // -h: a temporary that someone on the host swapped for a symbolic link
  // changes the link, never the file it points to. The mode needs no command:
  // the files were created with it (no chmod, which would follow a link).
  if (!group.empty()) {
    absl::StrAppend(&script, "chgrp -h -- ", ShellQuote(group), " ", temporary_list,
                    " || exit ", kCannotPrepare, "\n");
  }
  std::vector<std::string> directories;
  std::vector<std::string> leftovers;
  for (size_t i = 0; i < staged.targets.size(); ++i) {
    // -T: a directory in the target's place is an error, not a place to move into.
    absl::StrAppend(&script, "mv -f -T -- ", temporaries[i], " ", ShellQuote(staged.targets[i]),
                    " || exit ", kCannotRename + i, "\n");
    const std::string directory = ShellQuote(SplitPath(staged.targets[i]).first);
    if (std::find(directories.begin(), directories.end(), directory) == directories.end()) {
      directories.push_back(directory);
    }
    leftovers.push_back(AnyTemporaryOf(staged.targets[i]));
  }
  // One sync of the directories makes every rename durable before the
  // reload. Our temporaries are gone once renamed, so whatever temporaries are
  // left were left by an Apply killed mid-upload: sweep them (best effort; the
  // next Apply tries again).
  absl::StrAppend(&script, "sync -- ", absl::StrJoin(directories, " "), " || exit ", kCannotSync,
                  "\nrm -f -- ", absl::StrJoin(leftovers, " "), "\nexit 0\n");
  return script;
}

// What went wrong, in full (paths, the command's output), behind a summary
// that says what the host now holds and names no path.
absl::Status CommitFailure(const StagedFiles& staged, const CommandResult& result) {
  const int status = result.exit_status;
  const size_t count = staged.targets.size();
  if (status == kCannotPrepare) {
    return Summarized(absl::InternalError(result.output),
                      "cannot set the group of the new files; nothing was replaced");
  }
  if (status >= kCannotRename && status < kCannotRename + static_cast<int>(count)) {
    const size_t failed = static_cast<size_t>(status - kCannotRename);
    std::vector<std::string> live(staged.targets.begin(), staged.targets.begin() + failed);
    const std::string detail = absl::StrCat(
        "cannot rename the new ", staged.targets[failed], " into place (",
        live.empty() ? "nothing was replaced"
                     : absl::StrCat("already replaced: ", absl::StrJoin(live, ", ")),
        "): ", result.output);
    return Summarized(absl::InternalError(detail),
                      failed == 0 ? "cannot put the new files in place; nothing was replaced"
                                  : absl::StrCat("cannot put every new file in place; ", failed,
                                                 " of ", count, " were replaced"));
  }
  if (status == kCannotSync) {
    return Summarized(absl::InternalError(result.output),
                      "the new files are in place but could not be flushed to disk");
  }
  return Summarized(absl::InternalError(absl::StrCat("exit ", status, ": ", result.output)),
                    "cannot put the new files in place");
}

// How many targets the commit script replaced before it exited with
// `status`; nullopt for a status the script does not use (e.g. the shell was
// killed).
std::optional<size_t> ReplacedBeforeFailure(const StagedFiles& staged, int status) {
  const size_t count = staged.targets.size();
  if (status == kCannotPrepare) return 0;
  if (status >= kCannotRename && status < kCannotRename + static_cast<int>(count)) {
    return static_cast<size_t>(status - kCannotRename);
  }
  if (status == kCannotSync) return count;
  return std::nullopt;
}

}  // namespace

CommitOutcome CommitStagedFiles(AsteriskHostSession& session, const StagedFiles& staged,
                                const std::string& group) {
  Failpoint("apply.before_renames");
  // Group, mode and every rename(2) in one command: one round trip, and no
  // moment at which the portal can stop with one file replaced and the next
  // not (each file is always wholly old or wholly new either way).
  absl::StatusOr<CommandResult> result = session.Run(CommitScript(staged, group));
  if (!result.ok()) return {result.status(), std::nullopt};
  if (result->exit_status != 0) {
    RemoveTemporaries(session, staged.temporaries);
    return {CommitFailure(staged, *result), ReplacedBeforeFailure(staged, result->exit_status)};
  }
  return {absl::OkStatus(), staged.targets.size()};
}

absl::Status ReplaceFilesAtomically(AsteriskHostSession& session,
                                    const std::vector<FileWrite>& files,
                                    const std::string& group, const std::string& suffix) {
  absl::StatusOr<StagedFiles> staged = StageFiles(session, files, suffix);
  if (!staged.ok()) return staged.status();
  return CommitStagedFiles(session, *staged, group).status;
}

}  // namespace pbx
