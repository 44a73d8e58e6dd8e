#include "server/asterisk/config_files.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/asterisk/shell.h"
#include "server/common/failpoint.h"

namespace pbx {
namespace {

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {path.substr(0, slash == 0 ? 1 : slash), path.substr(slash + 1)};
}

absl::Status RunChecked(AsteriskHostSession& session, const std::string& command,
                        absl::string_view what) {
  absl::StatusOr<CommandResult> result = session.Run(command);
  if (!result.ok()) return result.status();
  if (result->exit_status != 0) {
    return absl::InternalError(absl::StrCat(what, ": ", result->output));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TemporaryPathFor(const std::string& path, const std::string& suffix) {
  auto [directory, name] = SplitPath(path);
  return absl::StrCat(directory, "/.", name, ".tmp-", suffix);
}

absl::Status RemoveStaleTemporaries(AsteriskHostSession& session,
                                    const std::vector<std::string>& paths) {
  std::vector<std::string> patterns;
  for (const std::string& path : paths) {
    auto [directory, name] = SplitPath(path);
    // Quoted directory and name, unquoted glob.
    patterns.push_back(absl::StrCat(ShellQuote(directory + "/." + name + ".tmp-"), "*"));
  }
  return RunChecked(session, absl::StrCat("rm -f -- ", absl::StrJoin(patterns, " ")),
                    "cannot remove stale temporary files");
}

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
                                       const std::string& group, const std::string& suffix) {
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
  std::vector<std::string> quoted;
  for (const std::string& temporary : staged.temporaries) quoted.push_back(ShellQuote(temporary));
  const std::string quoted_list = absl::StrJoin(quoted, " ");
  std::string prepare = absl::StrCat("chmod 0640 -- ", quoted_list);
  if (!group.empty()) {
    prepare = absl::StrCat("chgrp -- ", ShellQuote(group), " ", quoted_list, " && ", prepare);
  }
  if (absl::Status status =
          RunChecked(session, prepare, "cannot set owner group and mode of the new files");
      !status.ok()) {
    RemoveTemporaries(session, staged.temporaries);
    return status;
  }
  return staged;
}

absl::Status CommitStagedFiles(AsteriskHostSession& session, const StagedFiles& staged) {
  Failpoint("apply.before_renames");
  // From here on the targets change, one rename(2) each; `sync` on the
  // directory makes each rename durable before the next step.
  for (size_t i = 0; i < staged.targets.size(); ++i) {
    if (i > 0) Failpoint("apply.between_renames");
    absl::Status renamed = RunChecked(
        session,
        absl::StrCat("mv -f -- ", ShellQuote(staged.temporaries[i]), " ",
                     ShellQuote(staged.targets[i]), " && sync -- ",
                     ShellQuote(SplitPath(staged.targets[i]).first)),
        "cannot rename the new files into place");
    if (!renamed.ok()) {
      RemoveTemporaries(session, staged.temporaries);
      return renamed;
    }
  }
  return absl::OkStatus();
}

absl::Status ReplaceFilesAtomically(AsteriskHostSession& session,
                                    const std::vector<FileWrite>& files,
                                    const std::string& group, const std::string& suffix) {
  absl::StatusOr<StagedFiles> staged = StageFiles(session, files, group, suffix);
  if (!staged.ok()) return staged.status();
  return CommitStagedFiles(session, *staged);
}

}  // namespace pbx
