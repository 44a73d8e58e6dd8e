#ifndef PBX_SERVER_COMMON_ANNOTATE_H_
#define PBX_SERVER_COMMON_ANNOTATE_H_

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace pbx {

// `status` with `context` put before its message ("context: message"); code
// and payloads (error details) are kept.
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  absl::Status annotated(status.code(), absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
    annotated.SetPayload(type_url, payload);
  });
  return annotated;
}

}  // namespace pbx

#endif  // PBX_SERVER_COMMON_ANNOTATE_H_
