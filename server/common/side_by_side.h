#ifndef PBX_SERVER_COMMON_SIDE_BY_SIDE_H_
#define PBX_SERVER_COMMON_SIDE_BY_SIDE_H_

#include <cstddef>
#include <future>
#include <vector>

namespace pbx {

// Runs `work(i)` for every i below `count`, the first on this thread and each
// other on one of its own, and returns when all are done: a round trip to
// every Asterisk host costs the slowest one, not their sum, and a host that
// does not answer holds the others up no longer than its own timeouts.
template <typename Work>
void RunSideBySide(size_t count, const Work& work) {
  std::vector<std::future<void>> others;
  for (size_t i = 1; i < count; ++i) {
    others.push_back(std::async(std::launch::async, [&work, i] { work(i); }));
  }
  if (count > 0) work(0);
  for (std::future<void>& other : others) other.get();
}

}  // namespace pbx

#endif  // PBX_SERVER_COMMON_SIDE_BY_SIDE_H_
