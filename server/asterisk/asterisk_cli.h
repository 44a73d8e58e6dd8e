#ifndef PBX_SERVER_ASTERISK_ASTERISK_CLI_H_
#define PBX_SERVER_ASTERISK_ASTERISK_CLI_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/asterisk/asterisk_host.h"
#include "server/core/live_state.h"
#include "server/core/registrations.h"

namespace pbx {

// `cause` (a CLI read that could not reach the daemon) as the outage it is to
// Apply, Preview, Drift and the registration status alike: UNAVAILABLE, with
// the summary "Asterisk is not running on its host" (nothing can be written,
// compared or read until it is back).
absl::Status AsteriskNotRunning(const absl::Status& cause);

// Talks to the running Asterisk through `asterisk -rx` on the host.
class AsteriskCli {
 public:
  // `program` is how to invoke asterisk on the host ("asterisk", or e.g.
  // "sudo -n asterisk").
  AsteriskCli(AsteriskHostSession& session, std::string program)
      : session_(session), program_(std::move(program)) {}

  struct ReloadReport {
    // Not OK when a reload could not be run or did not take (daemon down,
    // command refused).
    absl::Status status;
    // What both reloads printed, for the audit.
    std::string output;
    bool pjsip_reloaded = false;
    bool dialplan_reloaded = false;
  };
  // `pjsip reload` (falling back to `module reload res_pjsip.so` where the
  // alias is missing), then `dialplan reload`, each retried while Asterisk
  // reports a reload already in progress. The report says which took effect.
  ReloadReport Reload();

  // The live PJSIP objects and the synergy-internal dialplan, read with the
  // four CLI commands running concurrently.
  absl::StatusOr<LiveState> ReadLiveState();

  // The pieces of ReadLiveState, for callers that read more in the same round
  // trip: the four command lines, and the parse of their results (in that
  // order; INTERNAL when the daemon could not be reached).
  std::vector<std::string> LiveStateCommandLines() const;
  static absl::StatusOr<LiveState> ParseLiveState(const std::vector<CommandResult>& results);

  // The shell command line that runs `command` through asterisk -rx.
  std::string CommandLine(const std::string& command) const;
  // The output of a finished `asterisk -rx`; INTERNAL when it could not reach
  // the daemon (asterisk -rx exits non-zero only then).
  static absl::StatusOr<std::string> CheckReached(const std::string& command,
                                                  const CommandResult& result);

  // Every registered contact of the portal's extensions, or of `extension`
  // alone: `pjsip show aors` (`pjsip show aor N`) and the registrar's records,
  // read side by side in one exec and joined by ParseRegistrations.
  // UNAVAILABLE when the daemon cannot be reached.
  absl::StatusOr<RegistrationsByExtension> ReadRegistrations(
      std::optional<int> extension = std::nullopt);

 private:
  // Runs one CLI command; INTERNAL when the daemon cannot be reached
  // (asterisk -rx exits non-zero only then).
  absl::StatusOr<std::string> Command(const std::string& command);
  // Command, repeated while Asterisk is busy with another reload.
  absl::StatusOr<std::string> ReloadCommand(const std::string& command);

  AsteriskHostSession& session_;
  const std::string program_;
};

}  // namespace pbx

#endif  // PBX_SERVER_ASTERISK_ASTERISK_CLI_H_
