#ifndef PBX_SERVER_ASTERISK_SSH_HOST_H_
#define PBX_SERVER_ASTERISK_SSH_HOST_H_

#include <string>

#include "absl/time/time.h"
#include "server/asterisk/asterisk_host.h"

namespace pbx {

struct SshHostOptions {
  std::string host = "127.0.0.1";
  int port = 2222;
  std::string user = "root";
  std::string private_key_path;
  // The only source of trust: a host whose key is not in this file, or whose
  // key changed, is refused.
  std::string known_hosts_path;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration command_timeout = absl::Seconds(30);
};

// The Asterisk host over SSH (libssh): public-key authentication, mandatory
// known_hosts verification, SFTP for uploads and exec channels for commands.
class SshAsteriskHost : public AsteriskHost {
 public:
  explicit SshAsteriskHost(SshHostOptions options) : options_(std::move(options)) {}
  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> Open() override;
  std::string Describe() const override;

 private:
  const SshHostOptions options_;
};

}  // namespace pbx

#endif  // PBX_SERVER_ASTERISK_SSH_HOST_H_
