#include "server/core/sip_secret.h"

#include <cmath>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

using ::testing::MatchesRegex;

TEST(GenerateSipSecret, HasPromisedLengthAlphabetAndStrength) {
  const std::string secret = GenerateSipSecret();
  EXPECT_THAT(secret, MatchesRegex("[A-Za-z0-9]{24}"));
  EXPECT_GE(kSipSecretLength * std::log2(62.0), 128.0);
}

TEST(GenerateSipSecret, MapsBytesWithoutModuloBias) {
  // Bytes 248..255 would make the first letters likelier; they must be skipped.
  int call = 0;
  auto source = [&call](absl::Span<uint8_t> out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = (call == 0 && i < 8) ? 248 + i : 0;
    ++call;
  };
  const std::string secret = GenerateSipSecret(source);
  EXPECT_EQ(secret, std::string(24, 'A'));
}

TEST(GenerateSipSecret, UsesTheWholeAlphabet) {
  std::set<char> seen;
  for (int value = 0; value < 62; ++value) {
    auto constant = [value](absl::Span<uint8_t> out) {
      for (auto& byte : out) byte = static_cast<uint8_t>(value);
    };
    const std::string secret = GenerateSipSecret(constant);
    EXPECT_EQ(secret, std::string(kSipSecretLength, secret[0]));
    seen.insert(secret[0]);
  }
  EXPECT_EQ(seen.size(), 62u);
}

TEST(GenerateSipSecret, SystemSecretsAreDistinct) {
  std::set<std::string> secrets;
  for (int i = 0; i < 10000; ++i) secrets.insert(GenerateSipSecret());
  EXPECT_EQ(secrets.size(), 10000u);
}

}  // namespace
}  // namespace pbx
