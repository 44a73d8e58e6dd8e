#include "server/common/failpoint.h"

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
  if (ArmedFailpoint().empty() || ArmedFailpoint() != name) return;
  LogWarning("failpoint reached", {{"failpoint", name}});
  while (true) absl::SleepFor(absl::Hours(1));
}

}  // namespace pbx
