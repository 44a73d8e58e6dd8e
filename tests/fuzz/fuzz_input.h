#ifndef PBX_TESTS_FUZZ_FUZZ_INPUT_H_
#define PBX_TESTS_FUZZ_FUZZ_INPUT_H_

// How the harnesses cut a fuzz input into string fields, chosen so seeds stay
// readable by hand: a backslash followed by any other byte ends a field ("\|"
// is the usual separator), "\\" is one literal backslash, and the end of the
// input ends the last field. Any byte string can thus be a field. (The same
// convention as FuzzedDataProvider::ConsumeRandomLengthString, without
// depending on clang's header, so the harnesses also build with g++ for the
// corpus replay test.)

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace pbx::fuzz {

class FieldReader {
 public:
  FieldReader(const uint8_t* data, size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  bool done() const { return rest_.empty(); }

  std::string Next() {
    std::string field;
    while (!rest_.empty()) {
      const char c = rest_.front();
      rest_.remove_prefix(1);
      if (c != '\\') {
        field += c;
        continue;
      }
      if (rest_.empty()) break;  // a trailing lone backslash ends the field
      const char next = rest_.front();
      rest_.remove_prefix(1);
      if (next != '\\') break;
      field += '\\';
    }
    return field;
  }

 private:
  std::string_view rest_;
};

// Ends the process with a message when a property does not hold; libFuzzer
// records the input as a crash.
[[noreturn]] inline void Fail(const char* harness, const std::string& message) {
  std::fprintf(stderr, "%s: PROPERTY VIOLATED: %s\n", harness, message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace pbx::fuzz

#endif  // PBX_TESTS_FUZZ_FUZZ_INPUT_H_
