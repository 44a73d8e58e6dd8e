#include "server/store/json_columns.h"

#include <cstdint>
#include <type_traits>
#include <variant>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"

namespace pbx {
namespace {

using Json = nlohmann::json;

// Text that is not valid UTF-8 is written with replacement characters rather
// than failing the write (validated input never has any).
std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The array in `text`, or an empty one when it is not an array of JSON.
Json ParseArray(absl::string_view text) {
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return parsed.is_array() ? parsed : Json::array();
}

std::string StringField(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A JSON integer, or a string holding one (how proto JSON wrote int64).
int64_t IntegerField(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  int64_t value = 0;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &value)) return value;
  return 0;
}

}  // namespace

std::string FilesToJson(const std::vector<ConfigFileRecord>& files) {
  Json array = Json::array();
  for (const ConfigFileRecord& file : files) {
    array.push_back({{"path", file.path}, {"sha256", file.sha256}, {"size_bytes", file.size_bytes}});
  }
  return Dump(array);
}

std::vector<ConfigFileRecord> FilesFromJson(absl::string_view json) {
  std::vector<ConfigFileRecord> files;
  for (const Json& element : ParseArray(json)) {
    if (!element.is_object()) continue;
    files.push_back({StringField(element, "path"), StringField(element, "sha256"),
                     IntegerField(element, "size_bytes")});
  }
  return files;
}


namespace {

Json PhasesArray(const std::vector<ApplyPhase>& phases) {
  Json array = Json::array();
  for (const ApplyPhase& phase : phases) {
    array.push_back({{"name", phase.name}, {"duration_us", phase.duration_us}});
  }
  return array;
}

std::vector<ApplyPhase> PhasesOf(const Json& array) {
  std::vector<ApplyPhase> phases;
  if (!array.is_array()) return phases;
  for (const Json& element : array) {
    if (!element.is_object()) continue;
    phases.push_back({StringField(element, "name"), IntegerField(element, "duration_us")});
  }
  return phases;
}

}  // namespace

std::string PhasesToJson(const std::vector<ApplyPhase>& phases) {
  return Dump(PhasesArray(phases));
}

std::vector<ApplyPhase> PhasesFromJson(absl::string_view json) {
  return PhasesOf(ParseArray(json));
}

std::string HostsToJson(const std::vector<HostApplyResult>& hosts) {
  Json array = Json::array();
  for (const HostApplyResult& host : hosts) {
    array.push_back({{"name", host.name},
                     {"address", host.address},
                     {"outcome", std::string(ApplyOutcomeName(host.outcome))},
                     {"error_detail", host.error_detail},
                     {"changed", host.changed},
                     {"phases", PhasesArray(host.phases)},
                     {"reload_output", host.reload_output},
                     {"verification", host.verification}});
  }
  return Dump(array);
}

std::vector<HostApplyResult> HostsFromJson(absl::string_view json) {
  std::vector<HostApplyResult> hosts;
  for (const Json& element : ParseArray(json)) {
    if (!element.is_object()) continue;
    HostApplyResult host;
    host.name = StringField(element, "name");
    host.address = StringField(element, "address");
    host.outcome = ApplyOutcomeFromName(StringField(element, "outcome"))
                       .value_or(ApplyOutcome::kFailure);
    host.error_detail = StringField(element, "error_detail");
    auto changed = element.find("changed");
    host.changed = changed != element.end() && changed->is_boolean() && changed->get<bool>();
    auto phases = element.find("phases");
    if (phases != element.end()) host.phases = PhasesOf(*phases);
    host.reload_output = StringField(element, "reload_output");
    host.verification = StringField(element, "verification");
    hosts.push_back(std::move(host));
  }
  return hosts;
}

std::string DriftHostsToJson(const std::vector<HostDriftSummary>& hosts) {
  Json array = Json::array();
  for (const HostDriftSummary& host : hosts) {
    array.push_back({{"name", host.name},
                     {"address", host.address},
                     {"in_sync", host.completed ? Json(host.in_sync) : Json(nullptr)},
                     {"finding_counts", Json(host.counts)},
                     {"error", host.error}});
  }
  return Dump(array);
}

std::vector<HostDriftSummary> DriftHostsFromJson(absl::string_view json) {
  std::vector<HostDriftSummary> hosts;
  for (const Json& element : ParseArray(json)) {
    if (!element.is_object()) continue;
    HostDriftSummary host;
    host.name = StringField(element, "name");
    host.address = StringField(element, "address");
    auto in_sync = element.find("in_sync");
    host.completed = in_sync != element.end() && in_sync->is_boolean();
    host.in_sync = host.completed && in_sync->get<bool>();
    auto counts = element.find("finding_counts");
    if (counts != element.end() && counts->is_object()) {
      for (const auto& [kind, count] : counts->items()) {
        if (count.is_number_integer()) host.counts[kind] = count.get<int>();
      }
    }
    host.error = StringField(element, "error");
    hosts.push_back(std::move(host));
  }
  return hosts;
}

std::string MetadataToJson(const std::map<std::string, std::string>& metadata) {
  return Dump(Json(metadata));
}

std::map<std::string, std::string> MetadataFromJson(absl::string_view json) {
  std::map<std::string, std::string> metadata;
  // Most users have none: skip the parser for them.
  if (json == "{}") return metadata;
  Json parsed = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return metadata;
  for (const auto& [key, value] : parsed.items()) {
    if (value.is_string()) metadata.emplace(key, value.get<std::string>());
  }
  return metadata;
}

namespace {

Json AuditValueToJson(const AuditValue& value) {
  return std::visit(
      [](const auto& held) -> Json {
        using Held = std::decay_t<decltype(held)>;
        if constexpr (std::is_same_v<Held, std::monostate>) {
          return nullptr;
        } else {
          return Json(held);
        }
      },
      value);
}

AuditValue AuditValueFromJson(const Json& json) {
  if (json.is_string()) return json.get<std::string>();
  if (json.is_number_integer()) return json.get<int64_t>();
  if (json.is_object()) {
    std::map<std::string, std::string> map;
    for (const auto& [key, value] : json.items()) {
      if (value.is_string()) map.emplace(key, value.get<std::string>());
    }
    return map;
  }
  return std::monostate{};
}

}  // namespace

std::string ChangesToJson(const std::vector<FieldChange>& changes) {
  Json json = Json::array();
  for (const FieldChange& change : changes) {
    json.push_back({{"field", change.field},
                    {"old", AuditValueToJson(change.old_value)},
                    {"new", AuditValueToJson(change.new_value)}});
  }
  return Dump(json);
}

std::vector<FieldChange> ChangesFromJson(absl::string_view json) {
  std::vector<FieldChange> changes;
  for (const Json& item : ParseArray(json)) {
    if (!item.is_object()) continue;
    changes.push_back({StringField(item, "field"), AuditValueFromJson(item.value("old", Json())),
                       AuditValueFromJson(item.value("new", Json()))});
  }
  return changes;
}

}  // namespace pbx
