#ifndef PBX_SERVER_ASTERISK_CONCURRENT_COMMANDS_H_
#define PBX_SERVER_ASTERISK_CONCURRENT_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/asterisk/asterisk_host.h"

namespace pbx {

// Runs every command at the same time, in one exec on the host, and returns
// their results in the order given: the time of the slowest one instead of
// the sum, and one round trip instead of one each. Each command's output
// (stdout and stderr) is captured whole in a private temporary directory on
// the host, so outputs never interleave.
absl::StatusOr<std::vector<CommandResult>> RunConcurrently(
    AsteriskHostSession& session, const std::vector<std::string>& commands);

// The parser of what the script prints, exposed for tests: a line
// "@@pbx-results <exit status>...", `wc -c` of the output files, then the
// outputs back to back, each cut by its byte count so no output can be
// mistaken for anything else.
absl::StatusOr<std::vector<CommandResult>> ParseConcurrentOutput(absl::string_view output,
                                                                 size_t count);

}  // namespace pbx

#endif  // PBX_SERVER_ASTERISK_CONCURRENT_COMMANDS_H_
