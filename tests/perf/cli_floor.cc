// pbx-bench-cli-floor: the references GET /registrations, a no-op Apply and
// Preview are measured against (tests/bench). The server answers each from
// one round trip to the Asterisk host over its kept SSH session (CLI reads,
// file reads); this tool times only that round trip,
// through the server's own SSH transport (SshAsteriskHost), on one session
// opened before the first run and kept open:
//   one --command:   `PROGRAM -rx 'COMMAND'` per run (e.g. pjsip show contacts)
//   several:         all of them side by side in one exec per run, exactly as
//                    the server runs its CLI reads (RunConcurrently)
//   --shell LINE:    LINE as it is instead (e.g. `true`, the no-op the server
//                    runs on a kept session before reusing it)
//   --inspect KIND --file PATH...: the round trip of the server's host
//                    inspection (server/asterisk/host_inspection.cc), which
//                    Apply and Preview make before anything else:
//                      hashes-live   sha256sum of each file + the four live
//                                    lists (a no-op Apply's only round trip)
//                      hashes-probe  sha256sum of each file + `core show
//                                    uptime seconds` (a changing Apply's)
//                      contents      each file whole, `cat` (Preview's)
//                    The command lines are not written here: the tool calls
//                    the server's own InspectHost once through a recording
//                    session and keeps the exec it sent, so the floor cannot
//                    drift from the server's commands. Timed ("ms"): that exec
//                    on the kept session and the split of its output
//                    (ParseConcurrentOutput), every command exiting 0. Also
//                    timed, alternating with it ("inspect_ms"): the whole
//                    InspectHost call, parsing included.
// Every run must exit 0. Prints JSON: {"runs", "warmup", "commands", "exec",
// "ms": {"p50", "p95", "min", "max", "mean", "all"}, "output_bytes",
// "output_lines"} (the output of the last run; percentiles nearest-rank, as
// tests/perf/loadgen computes them); --inspect adds "inspect", "files",
// "script", "inspect_ms", "file_bytes" and, for hashes-live, "live" (the
// object counts the server parsed).
//
// Usage: pbx-bench-cli-floor [--runs N] [--warmup N]
//            ((--command CLI | --shell LINE)... | --inspect KIND (--file PATH)...)
// The host comes from the server's variables: PBX_ASTERISK_SSH_HOST, _PORT,
// _USER, _KEY, _KNOWN_HOSTS and PBX_ASTERISK_PROGRAM.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/asterisk/asterisk_cli.h"
#include "server/asterisk/concurrent_commands.h"
#include "server/asterisk/host_inspection.h"
#include "server/asterisk/shell.h"
#include "server/asterisk/ssh_host.h"

namespace {

struct CliOptions {
  int runs = 100;
  int warmup = 5;
  std::vector<std::string> commands;  // as given
  std::vector<std::string> lines;     // what runs: `PROGRAM -rx 'COMMAND'`, or a --shell line
  std::string inspect;                // --inspect KIND; empty otherwise
  std::vector<std::string> files;     // --file, for --inspect
  std::string program = "asterisk";
  pbx::SshHostOptions ssh;
};

std::string Env(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

absl::StatusOr<CliOptions> ParseOptions(int argc, char** argv) {
  CliOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg != "--runs" && arg != "--warmup" && arg != "--command" && arg != "--shell" &&
        arg != "--inspect" && arg != "--file") {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", arg));
    }
    if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
    const std::string value = argv[++i];
    if (arg == "--inspect") {
      if (value != "hashes-live" && value != "hashes-probe" && value != "contents") {
        return absl::InvalidArgumentError(
            "--inspect takes hashes-live, hashes-probe or contents");
      }
      options.inspect = value;
    } else if (arg == "--file") {
      options.files.push_back(value);
    } else if (arg == "--command" || arg == "--shell") {
      options.commands.push_back(value);
      options.lines.push_back(arg == "--shell" ? value : "");  // commands wrapped below
    } else if (int* n = arg == "--runs" ? &options.runs : &options.warmup;
               !absl::SimpleAtoi(value, n) || *n < (arg == "--runs" ? 1 : 0)) {
      return absl::InvalidArgumentError(absl::StrCat(arg, " must be a number (--runs at least 1)"));
    }
  }
  if (options.inspect.empty() == options.commands.empty()) {
    return absl::InvalidArgumentError("give --command/--shell, or --inspect (not both)");
  }
  if (options.inspect.empty() != options.files.empty()) {
    return absl::InvalidArgumentError("--inspect needs --file, and --file needs --inspect");
  }
  options.program = Env("PBX_ASTERISK_PROGRAM", "asterisk");
  for (size_t i = 0; i < options.lines.size(); ++i) {
    if (options.lines[i].empty()) {
      options.lines[i] =
          absl::StrCat(options.program, " -rx ", pbx::ShellQuote(options.commands[i]));
    }
  }
  options.ssh.host = Env("PBX_ASTERISK_SSH_HOST", options.ssh.host);
  if (!absl::SimpleAtoi(Env("PBX_ASTERISK_SSH_PORT", "2222"), &options.ssh.port)) {
    return absl::InvalidArgumentError("PBX_ASTERISK_SSH_PORT is not a number");
  }
  options.ssh.user = Env("PBX_ASTERISK_SSH_USER", options.ssh.user);
  options.ssh.private_key_path = Env("PBX_ASTERISK_SSH_KEY", "");
  options.ssh.known_hosts_path = Env("PBX_ASTERISK_SSH_KNOWN_HOSTS", "");
  return options;
}

// A JSON string literal.
std::string JsonString(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      quoted += absl::StrFormat("\\u%04x", static_cast<int>(c));
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

// Nearest rank: the smallest sample with at least p% at or below it.
double Percentile(const std::vector<double>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string SummaryJson(const std::vector<double>& millis) {
  std::vector<double> sorted = millis;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> all;
  for (double ms : millis) all.push_back(absl::StrFormat("%.3f", ms));
  const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / sorted.size();
  return absl::StrFormat(
      R"({"p50": %.3f, "p95": %.3f, "min": %.3f, "max": %.3f, "mean": %.3f, "all": [%s]})",
      Percentile(sorted, 50), Percentile(sorted, 95), sorted.front(), sorted.back(), mean,
      absl::StrJoin(all, ", "));
}

// One run: the command (or the commands side by side); their output, joined.
absl::StatusOr<std::string> RunOnce(pbx::AsteriskHostSession& session,
                                    const std::vector<std::string>& lines) {
  std::vector<pbx::CommandResult> results;
  if (lines.size() == 1) {
    absl::StatusOr<pbx::CommandResult> result = session.Run(lines[0]);
    if (!result.ok()) return result.status();
    results.push_back(*std::move(result));
  } else {
    absl::StatusOr<std::vector<pbx::CommandResult>> concurrent =
        pbx::RunConcurrently(session, lines);
    if (!concurrent.ok()) return concurrent.status();
    results = *std::move(concurrent);
  }
  std::string output;
  for (size_t i = 0; i < results.size(); ++i) {
    // An error is not a reference: every command must have reached Asterisk.
    if (results[i].exit_status != 0) {
      return absl::InternalError(absl::StrCat("`", lines[i], "` exited with ",
                                              results[i].exit_status, ": ", results[i].output));
    }
    output += results[i].output;
  }
  return output;
}

absl::Status Measure(const CliOptions& options) {
  const std::vector<std::string>& lines = options.lines;
  pbx::SshAsteriskHost host(options.ssh);
  absl::StatusOr<std::unique_ptr<pbx::AsteriskHostSession>> session = host.Open();
  if (!session.ok()) return session.status();

  std::string output;
  for (int i = 0; i < options.warmup; ++i) {
    absl::StatusOr<std::string> ran = RunOnce(**session, lines);
    if (!ran.ok()) return ran.status();
  }
  std::vector<double> millis;
  for (int run = 0; run < options.runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::string> ran = RunOnce(**session, lines);
    millis.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    if (!ran.ok()) return ran.status();
    output = *std::move(ran);
  }
  std::vector<std::string> quoted_commands;
  for (const std::string& command : options.commands) quoted_commands.push_back(JsonString(command));
  const long lines_out = std::count(output.begin(), output.end(), '\n');
  std::cout << absl::StrFormat(
                   R"({"runs": %d, "warmup": %d, "commands": [%s], "exec": %s, "ms": %s, )"
                   R"("output_bytes": %d, "output_lines": %d})",
                   options.runs, options.warmup, absl::StrJoin(quoted_commands, ", "),
                   JsonString(lines.size() == 1 ? "one command" : "side by side (RunConcurrently)"),
                   SummaryJson(millis), static_cast<long>(output.size()), lines_out)
            << std::endl;
  return absl::OkStatus();
}

// Forwards to a real session and keeps every command line sent through it:
// how the tool learns the exec InspectHost sends.
class RecordingSession : public pbx::AsteriskHostSession {
 public:
  explicit RecordingSession(pbx::AsteriskHostSession& inner) : inner_(inner) {}
  absl::Status CreateFile(const std::string& path, const std::string& content) override {
    return inner_.CreateFile(path, content);
  }
  absl::StatusOr<pbx::CommandResult> Run(const std::string& command) override {
    sent_.push_back(command);
    return inner_.Run(command);
  }
  const std::vector<std::string>& sent() const { return sent_; }

 private:
  pbx::AsteriskHostSession& inner_;
  std::vector<std::string> sent_;
};

pbx::InspectionRequest RequestFor(const CliOptions& options) {
  pbx::InspectionRequest request;
  request.paths = options.files;
  request.file_read = options.inspect == "contents" ? pbx::InspectionRequest::FileRead::kContent
                                                    : pbx::InspectionRequest::FileRead::kSha256;
  request.live_state = options.inspect == "hashes-live";
  request.probe_daemon = options.inspect == "hashes-probe";
  return request;
}

// The server's InspectHost, checked: every file there (a floor of missing
// files would read nothing), the live lists parsed for hashes-live.
absl::StatusOr<pbx::HostInspection> Inspect(pbx::AsteriskHostSession& session,
                                            const CliOptions& options) {
  const pbx::InspectionRequest request = RequestFor(options);
  absl::StatusOr<pbx::HostInspection> inspection =
      pbx::InspectHost(session, options.program, request);
  if (!inspection.ok()) return inspection.status();
  for (size_t i = 0; i < request.paths.size(); ++i) {
    if (!inspection->sha256.at(i).has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat(request.paths[i], " does not exist on the host"));
    }
  }
  if (request.live_state && !inspection->live.has_value()) {
    return absl::InternalError("InspectHost returned no live state");
  }
  return inspection;
}

// The commands of a RunConcurrently script: each sits on a line "{ COMMAND"
// (concurrent_commands.cc); for the report only.
std::vector<std::string> CommandsOfScript(const std::string& script) {
  std::vector<std::string> commands;
  for (absl::string_view line : absl::StrSplit(script, '\n')) {
    if (absl::StartsWith(line, "{ ")) commands.emplace_back(line.substr(2));
  }
  return commands;
}

// The floor: the exec InspectHost sent, on the kept session, split as
// RunConcurrently splits it; every command must have exited 0.
absl::StatusOr<std::string> RunScript(pbx::AsteriskHostSession& session, const std::string& script,
                                      size_t count) {
  absl::StatusOr<pbx::CommandResult> run = session.Run(script);
  if (!run.ok()) return run.status();
  if (run->exit_status != 0) {
    return absl::InternalError(absl::StrCat("the inspection exec exited with ", run->exit_status,
                                            ": ", run->output));
  }
  absl::StatusOr<std::vector<pbx::CommandResult>> results =
      pbx::ParseConcurrentOutput(run->output, count);
  if (!results.ok()) return results.status();
  for (size_t i = 0; i < results->size(); ++i) {
    if ((*results)[i].exit_status != 0) {
      return absl::InternalError(absl::StrCat("command ", i, " of the inspection exited with ",
                                              (*results)[i].exit_status, ": ",
                                              (*results)[i].output));
    }
  }
  return std::move(run->output);
}

absl::Status MeasureInspection(const CliOptions& options) {
  pbx::SshAsteriskHost host(options.ssh);
  absl::StatusOr<std::unique_ptr<pbx::AsteriskHostSession>> session = host.Open();
  if (!session.ok()) return session.status();

  // One call through the recorder: the exec the server sends, exactly.
  RecordingSession recorder(**session);
  absl::StatusOr<pbx::HostInspection> first = Inspect(recorder, options);
  if (!first.ok()) return first.status();
  if (recorder.sent().size() != 1) {
    return absl::InternalError(absl::StrCat("InspectHost sent ", recorder.sent().size(),
                                            " execs, not one: this floor no longer models it"));
  }
  const std::string script = recorder.sent().front();
  const std::vector<std::string> commands = CommandsOfScript(script);

  for (int i = 0; i < options.warmup; ++i) {
    absl::StatusOr<std::string> ran = RunScript(**session, script, commands.size());
    if (!ran.ok()) return ran.status();
    absl::StatusOr<pbx::HostInspection> inspected = Inspect(**session, options);
    if (!inspected.ok()) return inspected.status();
  }
  std::vector<double> floor_ms, inspect_ms;
  std::string output;
  pbx::HostInspection last = *std::move(first);
  for (int run = 0; run < options.runs; ++run) {
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::string> ran = RunScript(**session, script, commands.size());
    floor_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    if (!ran.ok()) return ran.status();
    output = *std::move(ran);

    start = std::chrono::steady_clock::now();
    absl::StatusOr<pbx::HostInspection> inspected = Inspect(**session, options);
    inspect_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    if (!inspected.ok()) return inspected.status();
    last = *std::move(inspected);
  }

  std::vector<std::string> quoted_commands, quoted_files, file_bytes;
  for (const std::string& command : commands) quoted_commands.push_back(JsonString(command));
  for (const std::string& file : options.files) quoted_files.push_back(JsonString(file));
  for (const pbx::HostFile& file : last.files) {
    file_bytes.push_back(file.content ? absl::StrCat(file.content->size()) : "null");
  }
  std::string live = "null";
  if (last.live) {
    live = absl::StrFormat(R"({"endpoints": %d, "aors": %d, "auths": %d, "dialplan": %d})",
                           last.live->endpoints.size(), last.live->aors.size(),
                           last.live->auths.size(), last.live->dialplan.size());
  }
  const long lines_out = std::count(output.begin(), output.end(), '\n');
  std::cout << absl::StrFormat(
                   R"({"runs": %d, "warmup": %d, "inspect": %s, "files": [%s], "commands": [%s], )"
                   R"("exec": %s, "script": %s, "ms": %s, "inspect_ms": %s, "file_bytes": [%s], )"
                   R"("live": %s, "output_bytes": %d, "output_lines": %d})",
                   options.runs, options.warmup, JsonString(options.inspect),
                   absl::StrJoin(quoted_files, ", "), absl::StrJoin(quoted_commands, ", "),
                   JsonString("side by side in one exec: the exec InspectHost sends"),
                   JsonString(script), SummaryJson(floor_ms), SummaryJson(inspect_ms),
                   absl::StrJoin(file_bytes, ", "), live, static_cast<long>(output.size()),
                   lines_out)
            << std::endl;
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<CliOptions> options = ParseOptions(argc, argv);
  if (!options.ok()) {
    std::cerr << "pbx-bench-cli-floor: " << options.status().message()
              << "\nusage: pbx-bench-cli-floor [--runs N] [--warmup N] "
                 "((--command CLI | --shell LINE)... | --inspect KIND (--file PATH)...)\n";
    return 2;
  }
  const absl::Status status =
      options->inspect.empty() ? Measure(*options) : MeasureInspection(*options);
  if (!status.ok()) {
    std::cerr << "pbx-bench-cli-floor: " << status << "\n";
    return 1;
  }
  return 0;
}
