#include "server/core/error_info.h"

#include <vector>

#include "server/core/status_payload.h"

namespace pbx {
namespace {

// Reason, then key, value, key, value, ...
constexpr absl::string_view kErrorInfoPayload = "pbx.core/error-info";

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

}  // namespace pbx
