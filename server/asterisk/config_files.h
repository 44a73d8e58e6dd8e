#ifndef PBX_SERVER_ASTERISK_CONFIG_FILES_H_
#define PBX_SERVER_ASTERISK_CONFIG_FILES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/asterisk/asterisk_host.h"

namespace pbx {

struct FileWrite {
  std::string path;
  std::string content;
};

// Replaces every file atomically (FR-009): each is uploaded (created with
// mode 0640) and flushed under a temporary name in its own directory
// (".NAME.tmp-SUFFIX", which the "*.conf" includes never match); then one
// command gives them `group` (chgrp -h: never through a symbolic link) so
// Asterisk can read them and renames each over its target with `mv -f`
// (rename(2)). A failure before the renames removes the temporaries
// and leaves every target byte-identical; whatever happens, each target is
// either wholly old or wholly new.
absl::Status ReplaceFilesAtomically(AsteriskHostSession& session,
                                    const std::vector<FileWrite>& files,
                                    const std::string& group, const std::string& suffix);

// The two halves of ReplaceFilesAtomically, for callers that time them apart.
struct StagedFiles {
  std::vector<std::string> temporaries;
  std::vector<std::string> targets;
};
// Uploads and flushes every file under its temporary name; on failure removes
// what it created and leaves the targets untouched.
absl::StatusOr<StagedFiles> StageFiles(AsteriskHostSession& session,
                                       const std::vector<FileWrite>& files,
                                       const std::string& suffix);
// What CommitStagedFiles did to the targets.
struct CommitOutcome {
  // On failure the message says which targets were already replaced.
  absl::Status status;
  // How many targets, in order, now hold their new file; nullopt when that
  // cannot be known (the command did not report: e.g. the connection was
  // lost while it ran).
  std::optional<size_t> replaced;
};
// In one command: sets the group, renames the staged files over their
// targets (one rename(2) each), syncs their directories, and removes the
// temporaries an Apply killed mid-upload left next to them.
CommitOutcome CommitStagedFiles(AsteriskHostSession& session, const StagedFiles& staged,
                                const std::string& group);

// The temporary name ReplaceFilesAtomically uses for `path`.
std::string TemporaryPathFor(const std::string& path, const std::string& suffix);

}  // namespace pbx

#endif  // PBX_SERVER_ASTERISK_CONFIG_FILES_H_
