#ifndef PBX_TESTS_UNIT_EXPOSITION_H_
#define PBX_TESTS_UNIT_EXPOSITION_H_

#include <sstream>
#include <string>

#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>

namespace pbx::testing {

// What a Prometheus scrape of `collectable` would read, in the text format.
inline std::string Exposition(const prometheus::Collectable& collectable) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collectable.Collect());
  return out.str();
}

}  // namespace pbx::testing

#endif  // PBX_TESTS_UNIT_EXPOSITION_H_
