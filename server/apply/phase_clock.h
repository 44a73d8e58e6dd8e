#ifndef PBX_SERVER_APPLY_PHASE_CLOCK_H_
#define PBX_SERVER_APPLY_PHASE_CLOCK_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/core/apply_audit.h"

namespace pbx {

// Times the phases of one Apply: each Mark closes the phase that began at the
// previous Mark (or at construction) and appends it to `phases`.
class PhaseClock {
 public:
  explicit PhaseClock(std::vector<ApplyPhase>& phases) : phases_(phases) {}
  void Mark(absl::string_view name) {
    const absl::Time now = absl::Now();
    phases_.push_back({std::string(name), absl::ToInt64Microseconds(now - last_)});
    last_ = now;
  }

 private:
  std::vector<ApplyPhase>& phases_;
  absl::Time last_ = absl::Now();
};

}  // namespace pbx

#endif  // PBX_SERVER_APPLY_PHASE_CLOCK_H_
