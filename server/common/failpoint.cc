#include "server/common/failpoint.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
#include "server/common/log.h"

namespace pbx {
namespace {

const std::string& ArmedFailpoint() {
  static const std::string* armed = [] {
    const char* value = std::getenv("PBX_FAILPOINT");
    return new std::string(value == nullptr ? "" : value);
  }();
  return *armed;
}

}  // namespace

void Failpoint(absl::string_view name) {
  const std::string& armed = ArmedFailpoint();
  if (armed.empty() || absl::string_view(armed).substr(0, armed.find('@')) != name) return;
  LogWarning("failpoint reached", {{"failpoint", name}});
  const size_t at = armed.find('@');
  if (at == std::string::npos) {
    while (true) absl::SleepFor(absl::Hours(1));
  }
  const std::string release = armed.substr(at + 1);
  while (access(release.c_str(), F_OK) != 0) absl::SleepFor(absl::Milliseconds(20));
  LogWarning("failpoint released", {{"failpoint", name}});
}

}  // namespace pbx
