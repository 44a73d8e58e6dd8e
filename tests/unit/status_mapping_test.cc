#include "server/transport/status_mapping.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/core/error_info.h"
#include "server/core/extension_pool.h"
#include "server/core/field_violations.h"
#include "tests/unit/status_details.h"

namespace pbx {
namespace {

TEST(ToGrpcStatus, KeepsCodeAndMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  const struct {
    absl::Status in;
    grpc::StatusCode out;
  } cases[] = {
      {absl::NotFoundError("x"), grpc::StatusCode::NOT_FOUND},
      {absl::AlreadyExistsError("x"), grpc::StatusCode::ALREADY_EXISTS},
      {absl::UnavailableError("x"), grpc::StatusCode::UNAVAILABLE},
      {absl::InternalError("x"), grpc::StatusCode::INTERNAL},
      {absl::UnimplementedError("x"), grpc::StatusCode::UNIMPLEMENTED},
      {absl::AbortedError("x"), grpc::StatusCode::ABORTED},
  };
  for (const auto& c : cases) {
    grpc::Status status = ToGrpcStatus(c.in);
    EXPECT_EQ(status.error_code(), c.out) << c.in;
    EXPECT_EQ(status.error_message(), c.in.message());
    EXPECT_TRUE(status.error_details().empty());
  }
}

TEST(ToGrpcStatus, CarriesFieldViolationsAsBadRequestDetails) {
  grpc::Status status = ToGrpcStatus(
      InvalidFieldsError("invalid user", {{"name", "is required"}, {"email", "is required"}}));
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_request = testing::SoleDetail<google::rpc::BadRequest>(status);
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 2);
  EXPECT_EQ(bad_request->field_violations(0).field(), "name");
  EXPECT_EQ(bad_request->field_violations(1).field(), "email");
}

TEST(ToGrpcStatus, CarriesErrorInfoWithTheDomainAndMetadata) {
  grpc::Status status = ToGrpcStatus(
      WithErrorInfo(absl::InternalError("apply failed"), "APPLY_FAILED", {{"audit_id", "42"}}));
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "apply failed");
  auto info = testing::SoleDetail<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "APPLY_FAILED");
  EXPECT_EQ(info->domain(), "pbx.synergycall");
  EXPECT_EQ(info->metadata().at("audit_id"), "42");
}

// The gateway answers 409 for RESOURCE_EXHAUSTED only with this reason; gRPC's
// own RESOURCE_EXHAUSTED (a message over a size limit) has none.
TEST(ToGrpcStatus, APoolThatIsFullSaysSoInItsErrorInfo) {
  grpc::Status status = ToGrpcStatus(ExtensionPoolExhaustedError());
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto info = testing::SoleDetail<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "EXTENSION_POOL_EXHAUSTED");
  EXPECT_EQ(info->domain(), "pbx.synergycall");
}

}  // namespace
}  // namespace pbx
