#ifndef PBX_SERVER_COMMON_RESOURCE_SHELF_H_
#define PBX_SERVER_COMMON_RESOURCE_SHELF_H_

#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pbx {

// Keeps one resource that was expensive to open (an SSH session, a database
// connection) for the next caller. Borrowers hold a weak_ptr to the shelf, so
// a resource given back after its owner is gone is simply closed.
// Thread-safe; at most one resource is kept (Applies are serialized, so a
// second one is rare, and the newest is the one worth keeping).
template <typename Resource>
class ResourceShelf {
 public:
  struct Taken {
    std::unique_ptr<Resource> resource;  // null when none was kept
    absl::Duration idle;                 // how long it sat on the shelf
  };

  // The kept resource, if any; the shelf is empty afterwards.
  Taken Take() {
    absl::MutexLock lock(&mu_);
    return {std::move(kept_), absl::Now() - kept_since_};
  }

  // Keeps `resource` for the next Take (closing the one kept before), unless
  // the shelf was closed.
  void Put(std::unique_ptr<Resource> resource) {
    std::unique_ptr<Resource> replaced;  // closed outside the lock: closing may block
    absl::MutexLock lock(&mu_);
    if (closed_) {
      replaced = std::move(resource);
      return;
    }
    replaced = std::move(kept_);
    kept_ = std::move(resource);
    kept_since_ = absl::Now();
  }

  // Closes the kept resource; later Puts close theirs at once.
  void Close() {
    std::unique_ptr<Resource> last;
    absl::MutexLock lock(&mu_);
    closed_ = true;
    last = std::move(kept_);
  }

  // For a borrower: gives `resource` back to `shelf` if it still exists.
  static void GiveBack(const std::weak_ptr<ResourceShelf>& shelf,
                       std::unique_ptr<Resource> resource) {
    if (std::shared_ptr<ResourceShelf> alive = shelf.lock()) alive->Put(std::move(resource));
  }

 private:
  absl::Mutex mu_;
  std::unique_ptr<Resource> kept_ ABSL_GUARDED_BY(mu_);
  absl::Time kept_since_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pbx

#endif  // PBX_SERVER_COMMON_RESOURCE_SHELF_H_
