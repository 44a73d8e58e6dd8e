#include "server/observability/metrics_endpoint.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace pbx {
namespace {

// "192.0.2.7:9464" -> "192.0.2.7"; a wildcard listener is reached through
// loopback.
std::string LocalHostOf(absl::string_view listen) {
  absl::string_view host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  return std::string(host);
}

// Opens and closes one TCP connection; failures do not matter here.
void Knock(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* address = nullptr;
  if (getaddrinfo(host.c_str(), absl::StrCat(port).c_str(), &hints, &address) != 0) return;
  const int fd = socket(address->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    (void)connect(fd, address->ai_addr, address->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(address);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen,
    const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // civetweb throws when it cannot bind.
    exposer = std::make_unique<prometheus::Exposer>(listen);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listen, ": ", e.what()));
  }
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen));
  }
  for (const auto& collectable : collectables) exposer->RegisterCollectable(collectable);
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(exposer), LocalHostOf(listen), ports[0]));
}

MetricsEndpoint::~MetricsEndpoint() {
  // civetweb's accept loop looks at its stop flag only when poll() returns,
  // which without traffic is every 2 s (a compile-time constant), so stopping
  // would hold up every shutdown by up to that long. A connection made after
  // the flag is set wakes it at once; knock until the exposer is gone.
  std::atomic<bool> stopped{false};
  std::thread knocker([this, &stopped] {
    while (!stopped.load()) {
      Knock(host_, port_);
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  exposer_.reset();
  stopped.store(true);
  knocker.join();
}

}  // namespace pbx
