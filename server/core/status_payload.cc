#include "server/core/status_payload.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pbx {

// Each item as "<byte count>:<bytes>", so any byte may appear in an item.
void SetStringListPayload(absl::Status& status, absl::string_view type_url,
                          const std::vector<std::string>& items) {
  std::string encoded;
  for (const std::string& item : items) absl::StrAppend(&encoded, item.size(), ":", item);
  status.SetPayload(type_url, absl::Cord(encoded));
}

std::optional<std::vector<std::string>> StringListPayload(const absl::Status& status,
                                                          absl::string_view type_url) {
  absl::optional<absl::Cord> payload = status.GetPayload(type_url);
  if (!payload) return std::nullopt;
  const std::string encoded(*payload);
  absl::string_view rest(encoded);
  std::vector<std::string> items;
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    size_t size = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, colon), &size) ||
        size > rest.size() - colon - 1) {
      return std::nullopt;
    }
    items.emplace_back(rest.substr(colon + 1, size));
    rest.remove_prefix(colon + 1 + size);
  }
  return items;
}

}  // namespace pbx
