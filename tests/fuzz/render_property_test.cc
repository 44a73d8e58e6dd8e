// Property test: for many generated inputs (seeded, so reproducible), users
// pushed through validation get extensions and secrets, and what
// RenderAsteriskConfig writes parses with the Asterisk grammar checker into
// exactly the expected sections and keys. Names and emails never reach the
// files, however hostile. Inputs that break an invariant are refused with
// INTERNAL and nothing is rendered.

#include <algorithm>
#include <climits>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/core/asterisk_config.h"
#include "server/core/sip_secret.h"
#include "server/core/user.h"
#include "server/core/validation.h"
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

  // Free text, often hostile to an Asterisk config file.
  std::string Text(int max_pieces) {
    static const std::vector<std::string> kPieces = {
        "Ada", " Lovelace", "\n[1000](+)\npassword=evil", "(+)", "[synergy-internal]", ";",
        "\\;", ";--", "--;", "#include /etc/passwd", "#exec /bin/sh", "=>", "=", "&", "\"",
        "'", "\t", " ", "\r", "\xC3\xA9", "\xE2\x80\xA8", "\xC0\xAF", "\xED\xA0\x80",
        "\xF0\x9F\x98\x80", "\xFF", std::string(1, '\0'), "\xC2\x85", "exten => 1000,1,Hangup()",
        "Dial(PJSIP/1000,25)", "\xE2\x80\xAE", "O'Brien", "1000", "-auth"};
    std::string s;
    const int pieces = Uniform(0, max_pieces);
    for (int i = 0; i < pieces; ++i) {
      if (OneIn(4)) {
        s += static_cast<char>(Uniform(0, 255));
      } else {
        s += kPieces[Uniform(0, static_cast<int>(kPieces.size()) - 1)];
      }
    }
    if (OneIn(30)) s += std::string(10240, 'x');
    return s;
  }

  std::string Email() {
    static const std::vector<std::string> kLocals = {"ada", "a.b", "x+y", "o'brien", "#1",
                                                     "a..b", "", ".a", "a;b", "a\nb"};
    static const std::vector<std::string> kDomains = {"example.com", "synergy.example",
                                                      "localhost", "-a.com", "a.b.c.d",
                                                      "ex ample.com", "[1000]"};
    return kLocals[Uniform(0, static_cast<int>(kLocals.size()) - 1)] + "@" +
           kDomains[Uniform(0, static_cast<int>(kDomains.size()) - 1)] +
           (OneIn(10) ? Text(3) : "");
  }

 private:
  std::mt19937_64 rng_;
};

struct Provisioned {
  std::vector<NewUser> users;  // accepted by validation, one per extension
  std::vector<ProvisionedExtension> extensions;
};

Provisioned Provision(Generator& gen) {
  static int serial = 0;
  Provisioned out;
  for (int number : gen.Numbers()) {
    // Retry until validation accepts a user: what is stored went through it.
    for (int attempt = 0;; ++attempt) {
      // A unique tag ("\u2603" and a serial) somewhere in a hostile text.
      std::string name = gen.Text(6);
      name.insert(gen.Uniform(0, static_cast<int>(name.size())),
                  "\xE2\x98\x83" + std::to_string(++serial));
      NewUser input{name, gen.Email(), {}};
      if (gen.OneIn(3)) input.metadata["note"] = gen.Text(4);
      if (attempt > 20) input = {"Ada \xE2\x98\x83" + std::to_string(++serial), "ada@example.com", {}};
      auto user = ValidateNewUser(input);
      if (!user.ok()) continue;
      out.users.push_back(*user);
      break;
    }
    out.extensions.push_back({number, gen.OneIn(3) ? gen.ServerSecret() : gen.Secret()});
  }
  return out;
}

TEST(RenderProperty, ValidInputsRenderExactlyTheExpectedSections) {
  Generator gen(kSeed);
  int tagged_names = 0;
  int config_syntax_names = 0;  // accepted names holding config syntax
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + " of seed " + std::to_string(kSeed));
    const Provisioned p = Provision(gen);
    ASSERT_TRUE(render_property::SatisfiesInvariants(p.extensions));
    auto config = RenderAsteriskConfig(p.extensions);
    ASSERT_TRUE(config.ok()) << config.status();
    ASSERT_EQ(render_property::CheckRendered(*config, p.extensions), "");
    ASSERT_EQ(render_property::CheckLiveStateRoundTrip(*config, p.extensions), "");
    // Names and emails never reach the files: each name carries a unique
    // non-ASCII tag, and the files are printable ASCII.
    for (const NewUser& user : p.users) {
      ++tagged_names;
      for (const char* token : {"[", ";", "#include", "=>", "(+)"}) {
        if (user.name.find(token) != std::string::npos) ++config_syntax_names;
      }
      EXPECT_EQ(config->pjsip.find(user.name), std::string::npos) << user.name;
      EXPECT_EQ(config->dialplan.find(user.name), std::string::npos) << user.name;
    }
    for (const std::string* file : {&config->pjsip, &config->dialplan}) {
      for (char c : *file) {
        ASSERT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7F)) << static_cast<int>(c);
      }
      ASSERT_EQ(file->find('@'), std::string::npos);
    }
  }
  EXPECT_GT(tagged_names, 1000);
  EXPECT_GT(config_syntax_names, 100);
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
