#include "server/asterisk/asterisk_cli.h"

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/asterisk/concurrent_commands.h"
#include "server/asterisk/shell.h"
#include "server/common/failpoint.h"
#include "server/core/asterisk_config.h"

namespace pbx {
namespace {

constexpr int kBusyRetries = 40;
constexpr absl::Duration kBusyPause = absl::Milliseconds(250);

}  // namespace

std::string AsteriskCli::CommandLine(const std::string& command) const {
  return absl::StrCat(program_, " -rx ", ShellQuote(command));
}

absl::StatusOr<std::string> AsteriskCli::CheckReached(const std::string& command,
                                                      const CommandResult& result) {
  if (result.exit_status != 0) {
    return absl::InternalError(absl::StrCat("`asterisk -rx '", command,
                                            "'` could not reach the Asterisk daemon (exit ",
                                            result.exit_status, "): ", result.output));
  }
  return result.output;
}

absl::StatusOr<std::string> AsteriskCli::Command(const std::string& command) {
  absl::StatusOr<CommandResult> result = session_.Run(CommandLine(command));
  if (!result.ok()) return result.status();
  return CheckReached(command, *result);
}

absl::StatusOr<std::string> AsteriskCli::ReloadCommand(const std::string& command) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<std::string> output = Command(command);
    if (!output.ok() || !absl::StrContains(*output, "reload request is already in progress") ||
        attempt == kBusyRetries) {
      return output;
    }
    absl::SleepFor(kBusyPause);
  }
}

AsteriskCli::ReloadReport AsteriskCli::Reload() {
  ReloadReport report;
  absl::StatusOr<std::string> pjsip = ReloadCommand("pjsip reload");
  if (pjsip.ok() && absl::StrContains(*pjsip, "No such command")) {
    // `pjsip reload` is an alias from cli_aliases.conf, absent on some hosts.
    absl::StrAppend(&report.output, "pjsip reload: ", *pjsip);
    pjsip = ReloadCommand("module reload res_pjsip.so");
  }
  if (!pjsip.ok()) {
    report.status = pjsip.status();
    return report;
  }
  absl::StrAppend(&report.output, *pjsip);
  if (absl::StrContains(*pjsip, "already in progress") ||
      absl::StrContains(*pjsip, "No such command") ||
      absl::StrContains(*pjsip, "not found")) {
    report.status = absl::InternalError(absl::StrCat("pjsip reload did not run: ", *pjsip));
    return report;
  }
  report.pjsip_reloaded = true;
  Failpoint("apply.between_reloads");

  absl::StatusOr<std::string> dialplan = ReloadCommand("dialplan reload");
  if (!dialplan.ok()) {
    report.status = dialplan.status();
    return report;
  }
  absl::StrAppend(&report.output, *dialplan);
  if (!absl::StrContains(*dialplan, "Dialplan reloaded")) {
    report.status = absl::InternalError(absl::StrCat("dialplan reload did not run: ", *dialplan));
    return report;
  }
  report.dialplan_reloaded = true;
  return report;
}

absl::StatusOr<LiveState> AsteriskCli::ReadLiveState() {
  LiveState live;
  const struct {
    std::string command;
    std::function<void(absl::string_view)> parse;
  } reads[] = {
      {"pjsip list endpoints",
       [&](absl::string_view out) { live.endpoints = ParsePjsipList(out, "Endpoint"); }},
      {"pjsip list aors", [&](absl::string_view out) { live.aors = ParsePjsipList(out, "Aor"); }},
      {"pjsip list auths",
       [&](absl::string_view out) { live.auths = ParsePjsipList(out, "Auth"); }},
      {absl::StrCat("dialplan show ", kInternalContext),
       [&](absl::string_view out) { live.dialplan = ParseDialplanShow(out); }},
  };
  // The four reads are independent and Asterisk serves CLI clients on their
  // own threads: run them side by side.
  std::vector<std::string> command_lines;
  for (const auto& read : reads) command_lines.push_back(CommandLine(read.command));
  absl::StatusOr<std::vector<CommandResult>> results = RunConcurrently(session_, command_lines);
  if (!results.ok()) return results.status();
  for (size_t i = 0; i < results->size(); ++i) {
    absl::StatusOr<std::string> output = CheckReached(reads[i].command, (*results)[i]);
    if (!output.ok()) return output.status();
    reads[i].parse(*output);
  }
  return live;
}

}  // namespace pbx
