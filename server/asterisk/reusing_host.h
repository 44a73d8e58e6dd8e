#ifndef PBX_SERVER_ASTERISK_REUSING_HOST_H_
#define PBX_SERVER_ASTERISK_REUSING_HOST_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/asterisk/asterisk_host.h"
#include "server/common/resource_shelf.h"

namespace pbx {

// Keeps the session of one Apply open for the next. Opening an SSH session
// (TCP, key exchange, host key check, public-key auth, SFTP start) costs more
// than everything else an Apply sends to the host except the reload itself.
//
// A kept session is handed out again only if it is younger than `idle_limit`,
// without a round trip to check it: when its first command fails at once as
// unreachable (the host restarted, the connection was cut), a fresh session
// is opened and the command runs there, so a dead kept session costs one
// reconnection, never a failed Apply. That first command may thus run twice
// if the connection died after it was sent: callers begin with a read (every
// use case here inspects the host first); a first write is preceded by a
// check. A session on which any operation reported UNAVAILABLE (lost
// connection, command timeout) is never kept. `idle_limit` zero turns reuse
// off.
class ReusingAsteriskHost : public AsteriskHost {
 public:
  ReusingAsteriskHost(std::unique_ptr<AsteriskHost> inner, absl::Duration idle_limit);
  ~ReusingAsteriskHost() override;

  absl::StatusOr<std::unique_ptr<AsteriskHostSession>> Open() override;
  std::string Describe() const override { return inner_->Describe(); }

  using SessionShelf = ResourceShelf<AsteriskHostSession>;

 private:
  // Shared with the sessions handed out, which reconnect through it when a
  // kept connection is found dead (and may outlive this host).
  const std::shared_ptr<AsteriskHost> inner_;
  const absl::Duration idle_limit_;
  // Shared with the sessions handed out, which may outlive this host.
  const std::shared_ptr<SessionShelf> shelf_;
};

}  // namespace pbx

#endif  // PBX_SERVER_ASTERISK_REUSING_HOST_H_
