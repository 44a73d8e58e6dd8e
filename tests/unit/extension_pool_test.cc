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

namespace pbx {
namespace {

TEST(PortalObjectNumber, OnlyTheFourDigitIdsOfThePoolAreThePortals) {
  EXPECT_EQ(PortalObjectNumber("1000"), 1000);
  EXPECT_EQ(PortalObjectNumber("1999"), 1999);
  EXPECT_EQ(PortalObjectNumber("1005-auth", true), 1005);
  for (const char* other : {"0999", "2000", "01005", "100", "+999", " 100", "trunk", "", "1005-auth",
                            "1e03"}) {
    EXPECT_EQ(PortalObjectNumber(other), 0) << other;
  }
  EXPECT_EQ(PortalObjectNumber("1005", true), 0) << "an auth id needs its suffix";
  EXPECT_TRUE(IsPortalObjectId("1005-auth"));
  EXPECT_TRUE(IsPortalObjectId("1005"));
  EXPECT_FALSE(IsPortalObjectId("2005-auth"));
  EXPECT_FALSE(IsPortalObjectId("trunk-auth"));
}

}  // namespace
}  // namespace pbx
