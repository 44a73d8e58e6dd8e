// Property test: for many generated extension sets and endpoint profiles
// (seeded, so reproducible), what RenderAsteriskConfig writes parses with the
// Asterisk grammar checker into exactly the expected sections and keys, and
// the files are printable ASCII without '@'. Inputs that break an invariant
// are refused with INTERNAL and nothing is rendered; profile files with a bad
// line are refused naming it.

#include <algorithm>
#include <climits>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/core/asterisk_config.h"
#include "server/core/endpoint_profile.h"
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
    auto config = RenderAsteriskConfig(p.extensions, DefaultEndpointProfile());
    ASSERT_TRUE(config.ok()) << config.status();
    ASSERT_EQ(render_property::CheckRendered(*config, p.extensions, DefaultEndpointProfile()), "");
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
    auto config = RenderAsteriskConfig(extensions, DefaultEndpointProfile());
    ASSERT_FALSE(config.ok()) << "rendered an invalid input";
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInternal) << config.status();
  }
}

// Values each option accepts (in some spelling) and values it must refuse.
struct OptionValues {
  const char* name;
  std::vector<std::string> good;
  std::vector<std::string> bad;
};

const std::vector<OptionValues>& ProfileValues() {
  static const std::vector<OptionValues> values = {
      {"allow", {"ulaw", "alaw,ulaw", "G722, opus ,ulaw", "g729,gsm,ilbc,slin16,h264,vp8"},
       {"", "all", "ulaw,,alaw", "ulaw,ulaw", "ulaw;alaw", "ulaw alaw", "mp3", "ulaw:20", "!ulaw"}},
      {"direct_media", {"yes", "no", "TRUE", "False"}, {"", "1", "on", "y", "yes no", "no;"}},
      {"dtmf_mode", {"rfc4733", "INBAND", "info", "auto", "auto_info"}, {"rfc2833", "auto info"}},
      {"rtp_symmetric", {"yes", "no"}, {"maybe", "yes\\n[x]"}},
      {"force_rport", {"yes", "no"}, {"0"}},
      {"rewrite_contact", {"yes", "no"}, {"(+)"}},
      {"ice_support", {"yes", "no"}, {"#include x"}},
      {"transport", {"transport-udp", "t.1_x", std::string(64, 't')},
       {std::string(65, 't'), "a b", "udp;x", "[x]", "x\xc3\xa9"}},
      {"timers", {"no", "yes", "required", "always"}, {"forced2", "sometimes"}},
      {"100rel", {"no", "yes", "required", "peer_supported"}, {"peer"}},
      {"max_contacts", {"1", "10", "05"}, {"0", "11", "-1", "+2", "1.0", "one"}},
      {"remove_existing", {"yes", "no"}, {"yess"}},
      {"qualify_frequency", {"0", "30", "86400", "060"}, {"86401", "-1", "30s", "1e3", " "}},
      {"qualify_timeout", {"0.1", "3", "2.5", "60", "60.000", "0.125"},
       {"0", "0.09", "60.001", "1.2345", ".5", "5.", "1,5", "-1"}},
  };
  return values;
}

TEST(RenderProperty, GeneratedProfilesRenderExactlyTheExpectedSections) {
  Generator gen(kSeed + 2);
  const std::vector<ProvisionedExtension> extensions = {{1000, gen.Secret()},
                                                        {1001, gen.Secret()}};
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Each option set or not, with a good value, in a shuffled order, with
    // comments and blank lines in between.
    std::vector<std::string> lines;
    for (const OptionValues& option : ProfileValues()) {
      if (gen.OneIn(2)) continue;
      lines.push_back(std::string(option.name) + (gen.OneIn(2) ? " = " : "=") +
                      option.good[gen.Uniform(0, option.good.size() - 1)]);
    }
    std::vector<int> order(lines.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(round));
    std::string text;
    for (int i : order) {
      if (gen.OneIn(4)) text += gen.OneIn(2) ? "# note\n" : "\n";
      text += lines[i] + (gen.OneIn(5) ? "\r\n" : "\n");
    }
    auto profile = ParseEndpointProfile(text);
    ASSERT_TRUE(profile.ok()) << profile.status() << "\n" << text;
    ASSERT_EQ(render_property::CheckProfileIsSafe(*profile), "") << text;
    auto config = RenderAsteriskConfig(extensions, *profile);
    ASSERT_TRUE(config.ok()) << config.status();
    ASSERT_EQ(render_property::CheckRendered(*config, extensions, *profile), "") << text;
  }
}

TEST(RenderProperty, ProfileFilesWithABadLineAreRefusedNamingIt) {
  Generator gen(kSeed + 3);
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Good lines around one bad one, at a known line number.
    const std::vector<OptionValues>& all = ProfileValues();
    const OptionValues& victim = all[gen.Uniform(0, all.size() - 1)];
    std::string text;
    int line = 0;
    for (const OptionValues& option : all) {
      if (&option == &victim || gen.OneIn(2)) continue;
      text += std::string(option.name) + "=" + option.good[0] + "\n";
      ++line;
    }
    std::string bad_line;
    switch (gen.Uniform(0, 3)) {
      case 0:
        bad_line = std::string(victim.name) + "=" + victim.bad[gen.Uniform(0, victim.bad.size() - 1)];
        break;
      case 1:
        bad_line = std::string(victim.name) + "_x=yes";  // unknown
        break;
      case 2:
        bad_line = std::string(victim.name) + " " + victim.good[0];  // no '='
        break;
      default:  // set twice
        text += std::string(victim.name) + "=" + victim.good[0] + "\n";
        ++line;
        bad_line = std::string(victim.name) + "=" + victim.good[0];
        break;
    }
    text += bad_line + "\n";
    const int bad_line_number = line + 1;
    auto profile = ParseEndpointProfile(text);
    ASSERT_FALSE(profile.ok()) << "accepted:\n" << text;
    EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(profile.status().message())
                  .rfind("line " + std::to_string(bad_line_number) + ": ", 0),
              0u)
        << profile.status() << "\n" << text;
  }
}

}  // namespace
}  // namespace pbx
