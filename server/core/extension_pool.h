#ifndef PBX_SERVER_CORE_EXTENSION_POOL_H_
#define PBX_SERVER_CORE_EXTENSION_POOL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pbx {

// The portal owns exactly this range (spec: "Extension Range"); the database
// enforces it too with a CHECK constraint.
inline constexpr int kFirstExtension = 1000;
inline constexpr int kLastExtension = 1999;
inline constexpr int kExtensionPoolSize = kLastExtension - kFirstExtension + 1;

constexpr bool IsPortalExtension(int number) {
  return number >= kFirstExtension && number <= kLastExtension;
}

// The number of a portal object id: "1005" (endpoint, aor, dialplan
// extension) or, with `auth_suffix`, "1005-auth"; 0 for any other id (a
// trunk, "2000", "01005").
int PortalObjectNumber(absl::string_view id, bool auth_suffix = false);
// Whether Asterisk object `id` is one the portal owns: "1000".."1999" or
// "1000-auth".."1999-auth".
bool IsPortalObjectId(absl::string_view id);

// google.rpc.ErrorInfo reason of ExtensionPoolExhaustedError.
inline constexpr char kExtensionPoolExhaustedReason[] = "EXTENSION_POOL_EXHAUSTED";

// The error every caller reports when no number is left, so REST and gRPC
// clients see the same explanation.
absl::Status ExtensionPoolExhaustedError();
// The same error for a batch of `needed` users when only `free` (fewer) are
// left; the ErrorInfo's metadata carries both numbers.
absl::Status ExtensionPoolExhaustedError(int free, int needed);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_EXTENSION_POOL_H_
