// pbx-server: the portal's gRPC server. Configuration comes from PBX_*
// environment variables only (see README.md).
#include <csignal>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "server/app/config.h"
#include "server/app/portal_server.h"
#include "server/common/log.h"

namespace {

// Blocks SIGTERM and SIGINT in this thread and every thread it starts, so that
// only sigwait() below sees them: shutting gRPC down from a signal handler is
// not async-signal-safe.
sigset_t BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int main() {
  const sigset_t signals = BlockTerminationSignals();
  absl::StatusOr<pbx::ServerConfig> config = pbx::LoadServerConfig();
  if (!config.ok()) {
    pbx::LogError("cannot start", {{"error", config.status().message()}});
    return 2;
  }
  auto portal = pbx::PortalServer::Start(*config);
  if (!portal.ok()) {
    pbx::LogError("cannot start", {{"error", portal.status().ToString()}});
    return 1;
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  pbx::LogInfo("shutting down", {{"signal", absl::StrCat(signal_number)}});
  (*portal)->Shutdown(absl::Seconds(5));
  pbx::LogInfo("stopped");
  return EXIT_SUCCESS;
}
