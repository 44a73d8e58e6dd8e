#ifndef PBX_SERVER_STORE_ADVISORY_LOCKS_H_
#define PBX_SERVER_STORE_ADVISORY_LOCKS_H_

#include <cstdint>

namespace pbx {

// Keys of the PostgreSQL advisory locks that serialize work across every
// server process sharing one database. All of them live here so no two
// purposes ever share a key.
inline constexpr int64_t kMigrationLockKey = 0x7062780001;            // "pbx" 1
inline constexpr int64_t kExtensionAllocationLockKey = 0x7062780002;  // "pbx" 2
inline constexpr int64_t kApplyLockKey = 0x7062780003;                // "pbx" 3
inline constexpr int64_t kApiKeyBootstrapLockKey = 0x7062780004;      // "pbx" 4

}  // namespace pbx

#endif  // PBX_SERVER_STORE_ADVISORY_LOCKS_H_
