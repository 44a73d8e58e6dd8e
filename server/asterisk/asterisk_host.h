#ifndef PBX_SERVER_ASTERISK_ASTERISK_HOST_H_
#define PBX_SERVER_ASTERISK_ASTERISK_HOST_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pbx {

struct CommandResult {
  // -1 when the command was killed by a signal or its status is unknown.
  int exit_status = -1;
  // Standard output followed by standard error.
  std::string output;
};

// One connection to the machine running Asterisk, used by one caller at a
// time (an Apply, or a read of the registrations).
// The seam between Apply's logic and the transport (SSH or local): two
// primitives, on which atomic replacement and reloads are built.
class AsteriskHostSession {
 public:
  virtual ~AsteriskHostSession() = default;

  // Creates `path` (which must not exist) with `content`, flushed to disk.
  // A failure may leave a partial file behind at `path`; the caller removes it.
  virtual absl::Status CreateFile(const std::string& path,
                                  const std::string& content) = 0;

  // Runs a /bin/sh command line. UNAVAILABLE when the host cannot be reached
  // or the command outlives the timeout; the exit status is data, not an error.
  virtual absl::StatusOr<CommandResult> Run(const std::string& command) = 0;
};

// Opens sessions; UNAVAILABLE when the host cannot be reached in time,
// INTERNAL when it is not who it claims to be or refuses our key.
class AsteriskHost {
 public:
  virtual ~AsteriskHost() = default;
  virtual absl::StatusOr<std::unique_ptr<AsteriskHostSession>> Open() = 0;
  // For logs and the audit: "ssh://root@127.0.0.1:2222" or "local".
  virtual std::string Describe() const = 0;
};

}  // namespace pbx

#endif  // PBX_SERVER_ASTERISK_ASTERISK_HOST_H_
