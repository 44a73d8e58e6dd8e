#include "server/core/extension_pool.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/core/error_info.h"

namespace pbx {

int PortalObjectNumber(absl::string_view id, bool auth_suffix) {
  if (auth_suffix && !absl::ConsumeSuffix(&id, "-auth")) return 0;
  int number = 0;
  if (id.size() != 4 || !absl::SimpleAtoi(id, &number) || !IsPortalExtension(number)) return 0;
  return number;
}

bool IsPortalObjectId(absl::string_view id) {
  return PortalObjectNumber(id, absl::EndsWith(id, "-auth")) != 0;
}

absl::Status ExtensionPoolExhaustedError() {
  // The reason tells this RESOURCE_EXHAUSTED apart from gRPC's own (a message
  // over a size limit, an exhausted thread pool): only this one is a 409.
  return WithErrorInfo(
      absl::ResourceExhaustedError(absl::StrCat(
          "extension pool ", kFirstExtension, "-", kLastExtension, " is exhausted: all ",
          kExtensionPoolSize, " extensions are allocated; delete a user to free one")),
      kExtensionPoolExhaustedReason, {});
}

absl::Status ExtensionPoolExhaustedError(int free, int needed) {
  return WithErrorInfo(
      absl::ResourceExhaustedError(absl::StrCat(
          "extension pool ", kFirstExtension, "-", kLastExtension, " has ", free,
          " free extension", free == 1 ? "" : "s", ", fewer than the ", needed,
          " users asked for; nothing was created")),
      kExtensionPoolExhaustedReason,
      {{"free_extensions", absl::StrCat(free)}, {"requested", absl::StrCat(needed)}});
}

}  // namespace pbx
