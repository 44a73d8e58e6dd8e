// pbx-bench-reload-floor: the floor an Apply is measured against (tests/bench).
//
// Apply cannot be faster than reaching the Asterisk host and reloading it, so
// this tool does only that, through the same SSH library and transport as the
// server (SshAsteriskHost): one exec of
//   asterisk -rx 'pjsip reload' && asterisk -rx 'dialplan reload'
//   cold: open a session, run the reloads, close it   (what one Apply pays)
//   warm: run the reloads on a session kept open      (the reloads alone)
// and prints JSON: {"runs", "command", "cold_ms": {median, min, max, all}, "warm_ms": ...}.
//
// Asterisk's config loader may answer "file unchanged" on a reload when a
// file's size and mtime are as last loaded, and a module may then skip the
// parse, while an Apply always renames fresh files into place. So each timed
// reload is preceded (untimed) by `touch` of the --touch files: Asterisk then
// parses the same files Apply wrote, as it does after an Apply, whatever the
// module does with unchanged files.
//
// Usage: pbx-bench-reload-floor [--runs N] [--touch PATH]...
// The host comes from the server's variables: PBX_ASTERISK_SSH_HOST, _PORT,
// _USER, _KEY, _KNOWN_HOSTS and PBX_ASTERISK_PROGRAM.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/asterisk/shell.h"
#include "server/asterisk/ssh_host.h"

namespace {

struct FloorOptions {
  int runs = 7;
  std::vector<std::string> touch_paths;
  std::string program = "asterisk";
  pbx::SshHostOptions ssh;
};

std::string Env(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

absl::StatusOr<FloorOptions> ParseOptions(int argc, char** argv) {
  FloorOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg != "--runs" && arg != "--touch") {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", arg));
    }
    if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
    const std::string value = argv[++i];
    if (arg == "--touch") {
      options.touch_paths.push_back(value);
    } else if (!absl::SimpleAtoi(value, &options.runs) || options.runs < 1) {
      return absl::InvalidArgumentError("--runs must be a positive number");
    }
  }
  options.program = Env("PBX_ASTERISK_PROGRAM", "asterisk");
  options.ssh.host = Env("PBX_ASTERISK_SSH_HOST", options.ssh.host);
  if (!absl::SimpleAtoi(Env("PBX_ASTERISK_SSH_PORT", "2222"), &options.ssh.port)) {
    return absl::InvalidArgumentError("PBX_ASTERISK_SSH_PORT is not a number");
  }
  options.ssh.user = Env("PBX_ASTERISK_SSH_USER", options.ssh.user);
  options.ssh.private_key_path = Env("PBX_ASTERISK_SSH_KEY", "");
  options.ssh.known_hosts_path = Env("PBX_ASTERISK_SSH_KNOWN_HOSTS", "");
  return options;
}

std::string ReloadCommand(const std::string& program) {
  return absl::StrCat(program, " -rx 'pjsip reload' && ", program, " -rx 'dialplan reload'");
}

std::string TouchCommand(const std::vector<std::string>& paths) {
  std::vector<std::string> quoted;
  for (const auto& path : paths) quoted.push_back(pbx::ShellQuote(path));
  return absl::StrCat("touch -c -- ", absl::StrJoin(quoted, " "));
}

// The reloads must have run, or the figure would be the time of an error.
absl::Status RunChecked(pbx::AsteriskHostSession& session, const std::string& command) {
  absl::StatusOr<pbx::CommandResult> result = session.Run(command);
  if (!result.ok()) return result.status();
  if (result->exit_status != 0) {
    return absl::InternalError(absl::StrCat("`", command, "` exited with ", result->exit_status,
                                            ": ", result->output));
  }
  return absl::OkStatus();
}

absl::Status Touch(pbx::AsteriskHostSession& session, const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::OkStatus();
  return RunChecked(session, TouchCommand(paths));
}

// A JSON string literal; the command holds no control characters.
std::string JsonString(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string SummaryJson(std::vector<double> millis) {
  std::vector<std::string> all;
  for (double ms : millis) all.push_back(absl::StrFormat("%.3f", ms));
  std::sort(millis.begin(), millis.end());
  // The lower middle for an even count: a value that was really measured.
  const double median = millis[(millis.size() - 1) / 2];
  return absl::StrFormat(R"({"median": %.3f, "min": %.3f, "max": %.3f, "all": [%s]})", median,
                         millis.front(), millis.back(), absl::StrJoin(all, ", "));
}

absl::Status Measure(const FloorOptions& options) {
  pbx::SshAsteriskHost host(options.ssh);
  const std::string reload = ReloadCommand(options.program);
  // A session kept open for the untimed touches and the warm runs.
  absl::StatusOr<std::unique_ptr<pbx::AsteriskHostSession>> kept = host.Open();
  if (!kept.ok()) return kept.status();

  std::vector<double> cold;
  std::vector<double> warm;
  for (int run = 0; run < options.runs; ++run) {
    if (absl::Status touched = Touch(**kept, options.touch_paths); !touched.ok()) return touched;
    const auto cold_start = std::chrono::steady_clock::now();
    {
      absl::StatusOr<std::unique_ptr<pbx::AsteriskHostSession>> session = host.Open();
      if (!session.ok()) return session.status();
      if (absl::Status ran = RunChecked(**session, reload); !ran.ok()) return ran;
    }  // closing the session is part of what an Apply pays
    cold.push_back(MillisSince(cold_start));

    if (absl::Status touched = Touch(**kept, options.touch_paths); !touched.ok()) return touched;
    const auto warm_start = std::chrono::steady_clock::now();
    if (absl::Status ran = RunChecked(**kept, reload); !ran.ok()) return ran;
    warm.push_back(MillisSince(warm_start));
  }
  std::cout << absl::StrFormat(
      R"({"runs": %d, "command": %s, "touched": %d, "cold_ms": %s, "warm_ms": %s})", options.runs,
      JsonString(reload), static_cast<int>(options.touch_paths.size()),
      SummaryJson(cold), SummaryJson(warm))
            << std::endl;
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<FloorOptions> options = ParseOptions(argc, argv);
  if (!options.ok()) {
    std::cerr << "pbx-bench-reload-floor: " << options.status().message()
              << "\nusage: pbx-bench-reload-floor [--runs N] [--touch PATH]...\n";
    return 2;
  }
  if (absl::Status status = Measure(*options); !status.ok()) {
    std::cerr << "pbx-bench-reload-floor: " << status << "\n";
    return 1;
  }
  return 0;
}
