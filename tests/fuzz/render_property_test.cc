// Property test: for many generated extension sets (seeded, so reproducible),
// what RenderAsteriskConfig writes parses with the Asterisk grammar checker
// into exactly the expected sections and keys, and the files are printable
// ASCII without '@'. Inputs that break an invariant are refused with INTERNAL
// and nothing is rendered.

#include <algorithm>
#include <climits>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/core/asterisk_config.h"
#include "server/core/sip_secret.h"
#include "tests/fuzz/render_property.h"

namespace pbx {
namespace {

constexpr uint64_t kSeed = 20240611;
constexpr int kRounds = 300;

const char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool OneIn(int n) { return Uniform(1, n) == 1; }

  std::string Secret() {
    std::string s(Uniform(22, 64), 'x');
    for (char& c : s) c = kAlnum[Uniform(0, 61)];
    return s;
  }

  // A secret as the server makes them, from this generator's bytes.
  std::string ServerSecret() {
    return GenerateSipSecret([this](absl::Span<uint8_t> out) {
      for (uint8_t& b : out) b = static_cast<uint8_t>(Uniform(0, 255));
    });
  }

  // Distinct numbers in 1000-1999: usually a few, sometimes many, once in a
  // while the whole pool.
  std::vector<int> Numbers() {
    std::vector<int> pool(1000);
    for (int i = 0; i < 1000; ++i) pool[i] = 1000 + i;
    std::shuffle(pool.begin(), pool.end(), rng_);
    const int count = OneIn(50) ? 1000 : OneIn(5) ? Uniform(0, 200) : Uniform(0, 12);
    pool.resize(count);
    return pool;
  }

 private:
  std::mt19937_64 rng_;
};

struct Provisioned {
  std::vector<ProvisionedExtension> extensions;
};

Provisioned Provision(Generator& gen) {
  Provisioned out;
  for (int number : gen.Numbers()) {
    out.extensions.push_back({number, gen.OneIn(3) ? gen.ServerSecret() : gen.Secret()});
  }
  return out;
}

TEST(RenderProperty, ValidInputsRenderExactlyTheExpectedSections) {
  Generator gen(kSeed);
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + " of seed " + std::to_string(kSeed));
    const Provisioned p = Provision(gen);
    ASSERT_TRUE(render_property::SatisfiesInvariants(p.extensions));
    auto config = RenderAsteriskConfig(p.extensions);
    ASSERT_TRUE(config.ok()) << config.status();
    ASSERT_EQ(render_property::CheckRendered(*config, p.extensions), "");
    ASSERT_EQ(render_property::CheckLiveStateRoundTrip(*config, p.extensions), "");
    // The files are printable ASCII and hold no email address.
    for (const std::string* file : {&config->pjsip, &config->dialplan}) {
      for (char c : *file) {
        ASSERT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7F)) << static_cast<int>(c);
      }
      ASSERT_EQ(file->find('@'), std::string::npos);
    }
  }
}

TEST(RenderProperty, InputsBreakingAnInvariantAreRefused) {
  Generator gen(kSeed + 1);
  const std::vector<std::string> bad_secrets = {
      "", std::string(21, 'a'), std::string(65, 'a'), std::string(10240, 'a'),
      "AAAAbbbbCCCCdddd0000111\n", "AAAAbbbbCCCCdddd0000111;", "AAAAbbbbCCCCdddd0000111[",
      "AAAAbbbbCCCCdddd0000111]", "AAAAbbbbCCCCdddd0000111=", "AAAAbbbbCCCCdddd0000111#",
      "AAAAbbbbCCCCdddd0000111 ", "AAAAbbbbCCCCdddd0000111+", "AAAAbbbbCCCCdddd0000111(",
      "AAAAbbbbCCCCdddd0000111\\", "AAAAbbbbCCCCdddd000011\xC3\xA9",
      std::string("AAAAbbbbCCCCdddd0000111\0", 24), "AAAAbbbb\n[1000](+)\nCCCCdddd0000"};
  const std::vector<int> bad_numbers = {999, 2000, 0, -1, -1000, 10000, INT_MIN, INT_MAX};
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<ProvisionedExtension> extensions;
    for (int number : gen.Numbers()) {
      if (extensions.size() >= 30) break;
      extensions.push_back({number, gen.Secret()});
    }
    const size_t victim = extensions.empty() ? 0 : gen.Uniform(0, extensions.size() - 1);
    if (extensions.empty()) extensions.push_back({1000, gen.Secret()});
    switch (gen.Uniform(0, 2)) {
      case 0:
        extensions[victim].number = bad_numbers[gen.Uniform(0, bad_numbers.size() - 1)];
        break;
      case 1:
        extensions[victim].sip_secret = bad_secrets[gen.Uniform(0, bad_secrets.size() - 1)];
        break;
      default:
        extensions.push_back({extensions[victim].number, gen.Secret()});  // duplicate
        break;
    }
    ASSERT_FALSE(render_property::SatisfiesInvariants(extensions));
    auto config = RenderAsteriskConfig(extensions);
    ASSERT_FALSE(config.ok()) << "rendered an invalid input";
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInternal) << config.status();
  }
}

}  // namespace
}  // namespace pbx
