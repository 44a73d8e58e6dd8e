// Runs every committed seed (tests/fuzz/corpus/<harness>/) and regression
// input (tests/fuzz/regressions/<harness>/) through the fuzz harnesses in the
// normal build, without libFuzzer or sanitizers, so a property broken by a
// change shows up in ctest too. Each input runs in a forked child (a death
// test), so one failing input is named and the others still run.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

// The harnesses' LLVMFuzzerTestOneInput, renamed by the build.
extern "C" int FuzzValidationOneInput(const uint8_t* data, size_t size);
extern "C" int FuzzRenderOneInput(const uint8_t* data, size_t size);
extern "C" int FuzzRegistrationsOneInput(const uint8_t* data, size_t size);
extern "C" int FuzzConfigDiffOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const uint8_t*, size_t);

std::vector<fs::path> InputsOf(const std::string& kind, const std::string& harness) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(PBX_FUZZ_DIR) / kind / harness;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename().string()[0] != '.' &&
        entry.path().filename() != "README.md") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

void Replay(Harness harness, const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string data = bytes.str();
  harness(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

// Replays the committed seeds (at least `minimum_seeds`) and the regression
// inputs (none is fine) of one harness.
void ReplayAll(Harness harness, const std::string& name, size_t minimum_seeds) {
  std::vector<fs::path> files = InputsOf("corpus", name);
  EXPECT_GE(files.size(), minimum_seeds) << "inputs in corpus/" << name;
  const std::vector<fs::path> regressions = InputsOf("regressions", name);
  files.insert(files.end(), regressions.begin(), regressions.end());
  for (const fs::path& file : files) {
    EXPECT_EXIT(
        {
          Replay(harness, file);
          std::_Exit(0);
        },
        ::testing::ExitedWithCode(0), "")
        << file;
  }
}

TEST(FuzzCorpusReplay, Validation) { ReplayAll(FuzzValidationOneInput, "fuzz_validation", 10); }
TEST(FuzzCorpusReplay, Render) { ReplayAll(FuzzRenderOneInput, "fuzz_render", 10); }
TEST(FuzzCorpusReplay, Registrations) {
  ReplayAll(FuzzRegistrationsOneInput, "fuzz_registrations", 10);
}
TEST(FuzzCorpusReplay, ConfigDiff) { ReplayAll(FuzzConfigDiffOneInput, "fuzz_config_diff", 8); }

}  // namespace
