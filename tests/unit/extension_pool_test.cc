#include "server/core/extension_pool.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

TEST(ExtensionPool, CoversExactly1000To1999) {
  EXPECT_FALSE(IsPortalExtension(999));
  EXPECT_TRUE(IsPortalExtension(1000));
  EXPECT_TRUE(IsPortalExtension(1999));
  EXPECT_FALSE(IsPortalExtension(2000));
  EXPECT_EQ(kExtensionPoolSize, 1000);
}

TEST(ExtensionPool, ExhaustionErrorNamesThePool) {
  absl::Status status = ExtensionPoolExhaustedError();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("1000-1999"));
  EXPECT_THAT(status.message(), ::testing::HasSubstr("exhausted"));
}

}  // namespace
}  // namespace pbx
