// pbx-bench-cli-floor: the reference GET /registrations is measured against
// (tests/bench). The server answers it from one CLI round trip to the Asterisk
// host over its kept SSH session; this tool times only that round trip,
// through the server's own SSH transport (SshAsteriskHost), on one session
// opened before the first run and kept open:
//   one --command:   `PROGRAM -rx 'COMMAND'` per run (e.g. pjsip show contacts)
//   several:         all of them side by side in one exec per run, exactly as
//                    the server runs its CLI reads (RunConcurrently)
//   --shell LINE:    LINE as it is instead (e.g. `true`, the no-op the server
//                    runs on a kept session before reusing it)
// Every run must exit 0. Prints JSON: {"runs", "warmup", "commands", "exec",
// "ms": {"p50", "p95", "min", "max", "mean", "all"}, "output_bytes",
// "output_lines"} (the output of the last run; percentiles nearest-rank, as
// tests/perf/loadgen computes them).
//
// Usage: pbx-bench-cli-floor [--runs N] [--warmup N] (--command CLI | --shell LINE)...
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
#include "absl/strings/str_join.h"
#include "server/asterisk/concurrent_commands.h"
#include "server/asterisk/shell.h"
#include "server/asterisk/ssh_host.h"

namespace {

struct CliOptions {
  int runs = 100;
  int warmup = 5;
  std::vector<std::string> commands;  // as given
  std::vector<std::string> lines;     // what runs: `PROGRAM -rx 'COMMAND'`, or a --shell line
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
    if (arg != "--runs" && arg != "--warmup" && arg != "--command" && arg != "--shell") {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", arg));
    }
    if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
    const std::string value = argv[++i];
    if (arg == "--command" || arg == "--shell") {
      options.commands.push_back(value);
      options.lines.push_back(arg == "--shell" ? value : "");  // commands wrapped below
    } else if (int* n = arg == "--runs" ? &options.runs : &options.warmup;
               !absl::SimpleAtoi(value, n) || *n < (arg == "--runs" ? 1 : 0)) {
      return absl::InvalidArgumentError(absl::StrCat(arg, " must be a number (--runs at least 1)"));
    }
  }
  if (options.commands.empty()) return absl::InvalidArgumentError("--command or --shell is required");
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

// A JSON string literal; the commands hold no control characters.
std::string JsonString(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
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

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<CliOptions> options = ParseOptions(argc, argv);
  if (!options.ok()) {
    std::cerr << "pbx-bench-cli-floor: " << options.status().message()
              << "\nusage: pbx-bench-cli-floor [--runs N] [--warmup N] "
                 "(--command CLI | --shell LINE)...\n";
    return 2;
  }
  if (absl::Status status = Measure(*options); !status.ok()) {
    std::cerr << "pbx-bench-cli-floor: " << status << "\n";
    return 1;
  }
  return 0;
}
