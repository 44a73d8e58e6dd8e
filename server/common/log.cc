#include "server/common/log.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pbx {
namespace {

// Empty outside any ScopedLogRequestId.
thread_local std::string current_request_id;

void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void Write(absl::string_view level, absl::string_view message, LogFields fields) {
  std::string line = FormatLogLine(level, message, fields);
  line.push_back('\n');
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

std::string FormatLogLine(absl::string_view level, absl::string_view message,
                          LogFields fields) {
  std::string line = "{\"ts\":";
  AppendJsonString(line, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                          absl::UTCTimeZone()));
  line += ",\"level\":";
  AppendJsonString(line, level);
  line += ",\"msg\":";
  AppendJsonString(line, message);
  if (!current_request_id.empty()) {
    line += ",\"request_id\":";
    AppendJsonString(line, current_request_id);
  }
  for (const auto& [key, value] : fields) {
    line.push_back(',');
    AppendJsonString(line, key);
    line.push_back(':');
    AppendJsonString(line, value);
  }
  line.push_back('}');
  return line;
}

ScopedLogRequestId::ScopedLogRequestId(std::string request_id)
    : previous_(std::exchange(current_request_id, std::move(request_id))) {}

ScopedLogRequestId::~ScopedLogRequestId() { current_request_id = std::move(previous_); }

void LogInfo(absl::string_view message, LogFields fields) {
  Write("info", message, fields);
}
void LogWarning(absl::string_view message, LogFields fields) {
  Write("warning", message, fields);
}
void LogError(absl::string_view message, LogFields fields) {
  Write("error", message, fields);
}

}  // namespace pbx
