#include "server/core/extension_pool.h"

#include "absl/strings/str_cat.h"
#include "server/core/error_info.h"

namespace pbx {

absl::Status ExtensionPoolExhaustedError() {
  // The reason tells this RESOURCE_EXHAUSTED apart from gRPC's own (a message
  // over a size limit, an exhausted thread pool): only this one is a 409.
  return WithErrorInfo(
      absl::ResourceExhaustedError(absl::StrCat(
          "extension pool ", kFirstExtension, "-", kLastExtension, " is exhausted: all ",
          kExtensionPoolSize, " extensions are allocated; delete a user to free one")),
      kExtensionPoolExhaustedReason, {});
}

}  // namespace pbx
