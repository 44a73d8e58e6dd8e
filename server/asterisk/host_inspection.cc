#include "server/asterisk/host_inspection.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/asterisk/concurrent_commands.h"
#include "server/asterisk/shell.h"
#include "server/core/sha256.h"

namespace pbx {
namespace {

// The exit status of a file read whose file does not exist; anything else
// non-zero is a failure to read.
constexpr int kNoSuchFile = 44;

std::string FileCommand(const std::string& path, InspectionRequest::FileRead read) {
  const std::string quoted = ShellQuote(path);
  return absl::StrCat("test -e ", quoted, " || exit ", kNoSuchFile, "; exec ",
                      read == InspectionRequest::FileRead::kSha256 ? "sha256sum -- " : "cat -- ",
                      quoted);
}

}  // namespace

absl::StatusOr<HostInspection> InspectHost(AsteriskHostSession& session,
                                           const std::string& asterisk_program,
                                           const InspectionRequest& request) {
  AsteriskCli cli(session, asterisk_program);
  std::vector<std::string> commands;
  for (const std::string& path : request.paths) {
    commands.push_back(FileCommand(path, request.file_read));
  }
  const size_t live_first = commands.size();
  if (request.live_state) {
    for (std::string& line : cli.LiveStateCommandLines()) commands.push_back(std::move(line));
  } else if (request.probe_daemon) {
    commands.push_back(cli.CommandLine("core show uptime seconds"));
  }
  absl::StatusOr<std::vector<CommandResult>> results = RunConcurrently(session, commands);
  if (!results.ok()) return results.status();
  if (results->size() != commands.size()) {
    return absl::InternalError("the host inspection returned the wrong number of results");
  }

  HostInspection inspection;
  for (size_t i = 0; i < request.paths.size(); ++i) {
    const CommandResult& result = (*results)[i];
    HostFile file{request.paths[i], std::nullopt};
    std::optional<std::string> sha256;
    if (result.exit_status == 0) {
      if (request.file_read == InspectionRequest::FileRead::kContent) {
        sha256 = Sha256Hex(result.output);
        file.content = result.output;
      } else {
        std::string hash = result.output.substr(0, 64);
        if (hash.size() != 64 || !std::all_of(hash.begin(), hash.end(), [](char c) {
              return absl::ascii_isxdigit(static_cast<unsigned char>(c));
            })) {
          return absl::InternalError(
              absl::StrCat("sha256sum of ", request.paths[i], " printed ", result.output));
        }
        sha256 = std::move(hash);
      }
    } else if (result.exit_status != kNoSuchFile) {
      return absl::InternalError(absl::StrCat("cannot read ", request.paths[i], " (exit ",
                                              result.exit_status, "): ", result.output));
    }
    inspection.files.push_back(std::move(file));
    inspection.sha256.push_back(std::move(sha256));
  }
  if (request.live_state) {
    std::vector<CommandResult> live_results(results->begin() + live_first, results->end());
    absl::StatusOr<LiveState> live = AsteriskCli::ParseLiveState(live_results);
    if (!live.ok()) return AsteriskNotRunning(live.status());
    inspection.live = std::move(*live);
  } else if (request.probe_daemon) {
    absl::StatusOr<std::string> probe =
        AsteriskCli::CheckReached("core show uptime seconds", (*results)[live_first]);
    if (!probe.ok()) return AsteriskNotRunning(probe.status());
  }
  return inspection;
}

}  // namespace pbx
