#ifndef PBX_SERVER_COMMON_FAILPOINT_H_
#define PBX_SERVER_COMMON_FAILPOINT_H_

#include "absl/strings/string_view.h"

namespace pbx {

// Named points inside long operations where the crash-consistency tests stop
// the server (kill -9). When the environment variable PBX_FAILPOINT equals
// `name`, the calling thread logs "failpoint reached" and then blocks for
// good, so the test can kill the process exactly there. Unset (always, in
// production) it costs one comparison.
void Failpoint(absl::string_view name);

}  // namespace pbx

#endif  // PBX_SERVER_COMMON_FAILPOINT_H_
