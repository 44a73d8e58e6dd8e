#include "server/asterisk/asterisk_cli.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/asterisk/shell.h"
#include "server/common/failpoint.h"
#include "server/core/asterisk_config.h"

namespace pbx {
namespace {

constexpr int kBusyRetries = 40;
constexpr absl::Duration kBusyPause = absl::Milliseconds(250);

}  // namespace

absl::StatusOr<std::string> AsteriskCli::Command(const std::string& command) {
  absl::StatusOr<CommandResult> result =
      session_.Run(absl::StrCat(program_, " -rx ", ShellQuote(command)));
  if (!result.ok()) return result.status();
  if (result->exit_status != 0) {
    return absl::InternalError(absl::StrCat("`asterisk -rx '", command,
                                            "'` could not reach the Asterisk daemon (exit ",
                                            result->exit_status, "): ", result->output));
  }
  return result->output;
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
    const char* command;
    const char* kind;
    std::vector<std::string>* ids;
  } lists[] = {{"pjsip list endpoints", "Endpoint", &live.endpoints},
               {"pjsip list aors", "Aor", &live.aors},
               {"pjsip list auths", "Auth", &live.auths}};
  for (const auto& list : lists) {
    absl::StatusOr<std::string> output = Command(list.command);
    if (!output.ok()) return output.status();
    *list.ids = ParsePjsipList(*output, list.kind);
  }
  absl::StatusOr<std::string> dialplan =
      Command(absl::StrCat("dialplan show ", kInternalContext));
  if (!dialplan.ok()) return dialplan.status();
  live.dialplan = ParseDialplanShow(*dialplan);
  return live;
}

}  // namespace pbx
