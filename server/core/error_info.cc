#include "server/core/error_info.h"

#include <vector>

#include "absl/strings/str_cat.h"

#include "server/common/annotate.h"
#include "server/core/status_payload.h"

namespace pbx {
namespace {

// Reason, then key, value, key, value, ...
constexpr absl::string_view kErrorInfoPayload = "pbx.core/error-info";
// One item: the summary callers see.
constexpr absl::string_view kSummaryPayload = "pbx.core/summary";

}  // namespace

absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata) {
  std::vector<std::string> items = {std::string(reason)};
  for (const auto& [key, value] : metadata) {
    items.push_back(key);
    items.push_back(value);
  }
  SetStringListPayload(status, kErrorInfoPayload, items);
  return status;
}

std::optional<ErrorInfo> ErrorInfoOf(const absl::Status& status) {
  const std::optional<std::vector<std::string>> items =
      StringListPayload(status, kErrorInfoPayload);
  if (!items || items->empty() || items->size() % 2 != 1) return std::nullopt;
  ErrorInfo info{(*items)[0], {}};
  for (size_t i = 1; i < items->size(); i += 2) info.metadata[(*items)[i]] = (*items)[i + 1];
  return info;
}

absl::Status Summarized(const absl::Status& detail, absl::string_view summary) {
  std::optional<std::vector<std::string>> inner = StringListPayload(detail, kSummaryPayload);
  absl::Status status = Annotate(detail, summary);
  SetStringListPayload(status, kSummaryPayload,
                       {inner && inner->size() == 1 ? absl::StrCat(summary, ": ", (*inner)[0])
                                                    : std::string(summary)});
  return status;
}

std::string PublicMessage(const absl::Status& status) {
  std::optional<std::vector<std::string>> summary = StringListPayload(status, kSummaryPayload);
  if (summary && summary->size() == 1) return (*summary)[0];
  return std::string(status.message());
}

}  // namespace pbx
