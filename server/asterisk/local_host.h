#ifndef PBX_SERVER_ASTERISK_LOCAL_HOST_H_
#define PBX_SERVER_ASTERISK_LOCAL_HOST_H_

#include "absl/time/time.h"
#include "server/asterisk/asterisk_host.h"

namespace pbx {

// The Asterisk host when the portal runs on it: files through the local file
// system, commands through /bin/sh.
class LocalAsteriskHost : public AsteriskHost {
 public:
  explicit LocalAsteriskHost(absl::Duration command_timeout)
      : command_timeout_(command_timeout) {}
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> Open() override;
  std::string Describe() const override { return "local"; }

 private:
  const absl::Duration command_timeout_;
};

}  // namespace pbx

#endif  // PBX_SERVER_ASTERISK_LOCAL_HOST_H_
