#include "server/core/extension_pool.h"

#include "absl/strings/str_cat.h"

namespace pbx {

absl::Status ExtensionPoolExhaustedError() {
  return absl::ResourceExhaustedError(absl::StrCat(
      "extension pool ", kFirstExtension, "-", kLastExtension,
      " is exhausted: all ", kExtensionPoolSize,
      " extensions are allocated; delete a user to free one"));
}

}  // namespace pbx
