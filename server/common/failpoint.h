#ifndef PBX_SERVER_COMMON_FAILPOINT_H_
#define PBX_SERVER_COMMON_FAILPOINT_H_

#include "absl/strings/string_view.h"

namespace pbx {

// Named points inside long operations where tests stop the server. When the
// environment variable PBX_FAILPOINT equals `name`, the calling thread logs
// "failpoint reached" and then blocks for good, so the crash-consistency tests
// can kill the process exactly there. PBX_FAILPOINT=`name`@`path` blocks only
// until the file `path` exists, so a test can act on the host in the middle of
// an operation and let it go on. Unset (always, in production) it costs one
// comparison.
void Failpoint(absl::string_view name);

}  // namespace pbx

#endif  // PBX_SERVER_COMMON_FAILPOINT_H_
