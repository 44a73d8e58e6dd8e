// The whole server in-process on 127.0.0.1:0, talked to through a real gRPC
// channel (the Arrow Flight way), backed by a real PostgreSQL.
#include "server/app/portal_server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/health_check_service_interface.h>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "pbx/v1/apply_service.grpc.pb.h"
#include "pbx/v1/user_service.grpc.pb.h"
#include "tests/unit/status_details.h"
#include "tests/integration/database_fixture.h"

namespace pbx {
namespace {

using ::testing::MatchesRegex;

std::unique_ptr<v1::UserService::Stub> Connect(int port) {
  return v1::UserService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

class PortalServerTest : public testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (IsSkipped()) return;
    ServerConfig config;
    config.grpc_listen = "127.0.0.1:0";
    config.database.database_url = database_->url();
    auto portal = PortalServer::Start(config);
    ASSERT_TRUE(portal.ok()) << portal.status();
    portal_ = std::move(*portal);
    stub_ = Connect(portal_->port());
  }

  void TearDown() override {
    if (portal_) portal_->Shutdown(absl::Seconds(1));
  }

  std::unique_ptr<v1::ApplyService::Stub> ApplyStub() {
    return v1::ApplyService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(portal_->port()), grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<PortalServer> portal_;
  std::unique_ptr<v1::UserService::Stub> stub_;
};

TEST_F(PortalServerTest, CreateGetListDelete) {
  grpc::ClientContext create_context;
  v1::CreateUserRequest request;
  request.set_name("Ada Lovelace");
  request.set_email("ada@example.com");
  v1::CreateUserResponse created;
  ASSERT_TRUE(stub_->CreateUser(&create_context, request, &created).ok());
  EXPECT_EQ(created.user().extension(), 1000);
  EXPECT_EQ(created.sip_credentials().username(), "1000");
  EXPECT_THAT(created.sip_credentials().password(), MatchesRegex("[A-Za-z0-9]{24}"));

  grpc::ClientContext list_context;
  v1::ListUsersResponse listed;
  ASSERT_TRUE(stub_->ListUsers(&list_context, {}, &listed).ok());
  ASSERT_EQ(listed.users_size(), 1);
  EXPECT_EQ(listed.users(0).id(), created.user().id());
  EXPECT_EQ(listed.users(0).email(), "ada@example.com");

  grpc::ClientContext delete_context;
  v1::DeleteUserRequest remove;
  remove.set_id(created.user().id());
  v1::DeleteUserResponse removed;
  ASSERT_TRUE(stub_->DeleteUser(&delete_context, remove, &removed).ok());

  grpc::ClientContext get_context;
  v1::GetUserRequest get;
  get.set_id(created.user().id());
  v1::GetUserResponse got;
  EXPECT_EQ(stub_->GetUser(&get_context, get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PortalServerTest, InvalidInputCarriesEveryViolationAsBadRequest) {
  grpc::ClientContext context;
  v1::CreateUserResponse response;
  grpc::Status status = stub_->CreateUser(&context, v1::CreateUserRequest(), &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_request = testing::SoleDetail<google::rpc::BadRequest>(status);
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 2);
  EXPECT_EQ(bad_request->field_violations(0).field(), "name");
  EXPECT_EQ(bad_request->field_violations(1).field(), "email");
}

TEST_F(PortalServerTest, MalformedIdIsInvalidArgument) {
  grpc::ClientContext context;
  v1::DeleteUserRequest request;
  request.set_id("1; DROP TABLE users");
  v1::DeleteUserResponse response;
  EXPECT_EQ(stub_->DeleteUser(&context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PortalServerTest, FailedApplyIsAuditedAndReportsItsAuditId) {
  // No SSH key is configured here, so the Apply cannot reach any host; it
  // must still leave an audit row and name it in the error.
  auto stub = ApplyStub();
  grpc::ClientContext context;
  context.AddMetadata("x-admin-user", "alice");
  v1::ApplyResponse response;
  grpc::Status status = stub->Apply(&context, {}, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("PBX_ASTERISK_SSH_KEY"));
  auto error_info = testing::SoleDetail<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(error_info.has_value());
  const google::rpc::ErrorInfo& info = *error_info;
  EXPECT_EQ(info.reason(), "APPLY_FAILED");

  grpc::ClientContext list_context;
  v1::ListApplyAuditResponse audit;
  ASSERT_TRUE(stub->ListApplyAudit(&list_context, {}, &audit).ok());
  ASSERT_EQ(audit.entries_size(), 1);
  const v1::ApplyAuditEntry& entry = audit.entries(0);
  EXPECT_EQ(std::to_string(entry.id()), info.metadata().at("audit_id"));
  EXPECT_EQ(entry.outcome(), v1::APPLY_OUTCOME_FAILURE);
  EXPECT_EQ(entry.triggered_by(), "alice");
  EXPECT_THAT(entry.error_detail(), ::testing::HasSubstr("PBX_ASTERISK_SSH_KEY"));
  EXPECT_TRUE(entry.has_finished_at());

  grpc::ClientContext status_context;
  v1::GetApplyStatusResponse apply_status;
  ASSERT_TRUE(stub->GetApplyStatus(&status_context, {}, &apply_status).ok());
  EXPECT_EQ(apply_status.last_apply().id(), entry.id());
  EXPECT_FALSE(apply_status.has_last_successful_apply());
  EXPECT_TRUE(apply_status.pending_changes());
}

TEST_F(PortalServerTest, BlankTriggeredByFallsBackToTheAdminHeader) {
  auto stub = ApplyStub();
  grpc::ClientContext context;
  context.AddMetadata("x-admin-user", "bob");
  v1::ApplyRequest request;
  request.set_triggered_by("   ");
  v1::ApplyResponse response;
  (void)stub->Apply(&context, request, &response);  // fails: no host configured
  grpc::ClientContext list_context;
  v1::ListApplyAuditResponse audit;
  ASSERT_TRUE(stub->ListApplyAudit(&list_context, {}, &audit).ok());
  ASSERT_EQ(audit.entries_size(), 1);
  EXPECT_EQ(audit.entries(0).triggered_by(), "bob");
}

TEST_F(PortalServerTest, ApplyRejectsControlCharactersInTriggeredBy) {
  auto stub = ApplyStub();
  grpc::ClientContext context;
  v1::ApplyRequest request;
  request.set_triggered_by("eve\nforged line");
  v1::ApplyResponse response;
  EXPECT_EQ(stub->Apply(&context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext list_context;
  v1::ListApplyAuditResponse audit;
  ASSERT_TRUE(stub->ListApplyAudit(&list_context, {}, &audit).ok());
  EXPECT_EQ(audit.entries_size(), 0);
}

TEST(PortalServerWithoutDatabase, StartsAndAnswersUnavailableFast) {
  ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.database.database_url = "postgresql://postgres@127.0.0.1:1/none";
  config.database.connect_timeout_seconds = 1;
  auto portal = PortalServer::Start(config);
  ASSERT_TRUE(portal.ok()) << portal.status();
  auto stub = Connect((*portal)->port());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ListUsersResponse response;
  EXPECT_EQ(stub->ListUsers(&context, {}, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  (*portal)->Shutdown(absl::Seconds(1));
}

TEST(PortalServerWithoutDatabase, ServesMetricsOnlyWhenAskedAndRefusesATakenAddress) {
  ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.database.database_url = "postgresql://postgres@127.0.0.1:1/none";
  config.database.connect_timeout_seconds = 1;
  auto without = PortalServer::Start(config);
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ((*without)->metrics_port(), 0);

  config.metrics_listen = "127.0.0.1:0";
  auto with = PortalServer::Start(config);
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_GT((*with)->metrics_port(), 0);

  config.metrics_listen = "127.0.0.1:" + std::to_string((*with)->metrics_port());
  auto clash = PortalServer::Start(config);
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(clash.status().message(), ::testing::HasSubstr(config.metrics_listen));
}

}  // namespace
}  // namespace pbx
