#ifndef PBX_SERVER_COMMON_CANCELLATION_H_
#define PBX_SERVER_COMMON_CANCELLATION_H_

#include <functional>

namespace pbx {

// Whether the caller that asked for some work has gone away (an RPC cancelled
// or past its deadline). Work that waits polls it and stops waiting.
using IsCancelled = std::function<bool()>;

inline bool NeverCancelled() { return false; }

}  // namespace pbx

#endif  // PBX_SERVER_COMMON_CANCELLATION_H_
