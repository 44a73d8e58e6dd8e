// The whole server in-process on 127.0.0.1:0, talked to through a real gRPC
// channel (the Arrow Flight way), backed by a real PostgreSQL.
#include "server/app/portal_server.h"

#include <grpcpp/create_channel.h>

#include <fstream>
#include <grpcpp/health_check_service_interface.h>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "pbx/v1/apply_service.grpc.pb.h"
#include "pbx/v1/user_service.grpc.pb.h"
#include "server/keys/key_operations.h"
#include "server/store/pg_api_key_store.h"
#include "tests/unit/status_details.h"
#include "tests/integration/database_fixture.h"

namespace pbx {
namespace {

using ::testing::MatchesRegex;

std::unique_ptr<v1::UserService::Stub> Connect(int port) {
  return v1::UserService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

// A config for an in-process server on 127.0.0.1:0 with a secret key file of
// its own.
ServerConfig TestConfig(const std::string& database_url) {
  static const std::string key_file = [] {
    const std::string path = ::testing::TempDir() + "/pbx-portal-test-secret.key";
    std::ofstream(path, std::ios::binary) << std::string(32, 'k');
    return path;
  }();
  ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.database.database_url = database_url;
  config.secret_key_file = key_file;
  return config;
}

class PortalServerTest : public testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (IsSkipped()) return;
    auto portal = PortalServer::Start(TestConfig(database_->url()));
    ASSERT_TRUE(portal.ok()) << portal.status();
    portal_ = std::move(*portal);
    stub_ = Connect(portal_->port());
    // Keys made the way an admin would, straight in the database the server uses.
    pool_ = std::make_unique<PgPool>(PgPoolOptions{database_->url(), 2});
    pool_->MarkSchemaReady();
    key_store_ = std::make_unique<PgApiKeyStore>(*pool_);
    KeyOperations keys(*key_store_);
    auto operator_key = keys.CreateKey("operator-key", "operator");
    auto viewer_key = keys.CreateKey("viewer-key", "viewer");
    ASSERT_TRUE(operator_key.ok() && viewer_key.ok());
    operator_ = *operator_key;
    viewer_token_ = viewer_key->token;
  }

  // A context carrying `token` (the operator's unless given).
  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    return context;
  }
  std::unique_ptr<grpc::ClientContext> AsOperator() { return As(operator_.token); }

  void TearDown() override {
    if (portal_) portal_->Shutdown(absl::ZeroDuration(), absl::Seconds(1));
  }

  std::unique_ptr<v1::ApplyService::Stub> ApplyStub() {
    return v1::ApplyService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(portal_->port()), grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<PortalServer> portal_;
  std::unique_ptr<v1::UserService::Stub> stub_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgApiKeyStore> key_store_;
  CreatedApiKey operator_;
  std::string viewer_token_;
};

TEST_F(PortalServerTest, CreateGetListDelete) {
  v1::CreateUserRequest request;
  request.set_name("Ada Lovelace");
  request.set_email("ada@example.com");
  v1::CreateUserResponse created;
  ASSERT_TRUE(stub_->CreateUser(AsOperator().get(), request, &created).ok());
  EXPECT_EQ(created.user().extension(), 1000);
  EXPECT_EQ(created.sip_credentials().username(), "1000");
  EXPECT_THAT(created.sip_credentials().password(), MatchesRegex("[A-Za-z0-9]{24}"));

  v1::ListUsersResponse listed;
  ASSERT_TRUE(stub_->ListUsers(As(viewer_token_).get(), {}, &listed).ok());
  ASSERT_EQ(listed.users_size(), 1);
  EXPECT_EQ(listed.users(0).id(), created.user().id());
  EXPECT_EQ(listed.users(0).email(), "ada@example.com");

  v1::DeleteUserRequest remove;
  remove.set_id(created.user().id());
  v1::DeleteUserResponse removed;
  ASSERT_TRUE(stub_->DeleteUser(AsOperator().get(), remove, &removed).ok());

  v1::GetUserRequest get;
  get.set_id(created.user().id());
  v1::GetUserResponse got;
  EXPECT_EQ(stub_->GetUser(AsOperator().get(), get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(PortalServerTest, InvalidInputCarriesEveryViolationAsBadRequest) {
  v1::CreateUserResponse response;
  grpc::Status status = stub_->CreateUser(AsOperator().get(), v1::CreateUserRequest(), &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_request = testing::SoleDetail<google::rpc::BadRequest>(status);
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 2);
  EXPECT_EQ(bad_request->field_violations(0).field(), "name");
  EXPECT_EQ(bad_request->field_violations(1).field(), "email");
}

TEST_F(PortalServerTest, MalformedIdIsInvalidArgument) {
  v1::DeleteUserRequest request;
  request.set_id("1; DROP TABLE users");
  v1::DeleteUserResponse response;
  EXPECT_EQ(stub_->DeleteUser(AsOperator().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PortalServerTest, FailedApplyIsAuditedAndAnswersWithoutInternals) {
  // No SSH key is configured here, so the Apply cannot reach any host; it
  // must still leave an audit row and name it in the error, and keep what it
  // knows of the host for the audit.
  auto stub = ApplyStub();
  v1::ApplyResponse response;
  grpc::Status status = stub->Apply(AsOperator().get(), {}, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(),
              ::testing::StartsWith("nothing was changed: the portal has no SSH key or trusted "
                                    "host key configured (audit id "));
  EXPECT_THAT(status.error_message(), ::testing::Not(::testing::HasSubstr("PBX_ASTERISK_SSH_KEY")));
  EXPECT_THAT(status.error_message(), ::testing::Not(::testing::HasSubstr("ssh://")));
  auto error_info = testing::SoleDetail<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(error_info.has_value());
  const google::rpc::ErrorInfo& info = *error_info;
  EXPECT_EQ(info.reason(), "APPLY_FAILED");

  v1::ListApplyAuditResponse audit;
  ASSERT_TRUE(stub->ListApplyAudit(As(viewer_token_).get(), {}, &audit).ok());
  ASSERT_EQ(audit.entries_size(), 1);
  const v1::ApplyAuditEntry& entry = audit.entries(0);
  EXPECT_EQ(std::to_string(entry.id()), info.metadata().at("audit_id"));
  EXPECT_EQ(entry.outcome(), v1::APPLY_OUTCOME_FAILURE);
  EXPECT_EQ(entry.triggered_by(), "operator-key");
  EXPECT_EQ(entry.triggered_by_key_id(), operator_.key.id);
  EXPECT_THAT(entry.error_detail(), ::testing::HasSubstr("PBX_ASTERISK_SSH_KEY"));
  EXPECT_TRUE(entry.has_finished_at());

  v1::GetApplyStatusResponse apply_status;
  ASSERT_TRUE(stub->GetApplyStatus(As(viewer_token_).get(), {}, &apply_status).ok());
  EXPECT_EQ(apply_status.last_apply().id(), entry.id());
  EXPECT_FALSE(apply_status.has_last_successful_apply());
  EXPECT_TRUE(apply_status.pending_changes());
}

TEST_F(PortalServerTest, NeitherAHeaderNorTheBodyDecidesWhoApplied) {
  auto stub = ApplyStub();
  auto context = AsOperator();
  context->AddMetadata("x-admin-user", "mallory");
  v1::ApplyRequest request;
  request.set_triggered_by("mallory");  // deprecated: read as the note
  v1::ApplyResponse response;
  (void)stub->Apply(context.get(), request, &response);  // fails: no host configured
  v1::ListApplyAuditResponse audit;
  ASSERT_TRUE(stub->ListApplyAudit(AsOperator().get(), {}, &audit).ok());
  ASSERT_EQ(audit.entries_size(), 1);
  EXPECT_EQ(audit.entries(0).triggered_by(), "operator-key");
  EXPECT_EQ(audit.entries(0).note(), "mallory");
}

TEST_F(PortalServerTest, ApplyRejectsControlCharactersInTheNote) {
  auto stub = ApplyStub();
  v1::ApplyRequest request;
  request.set_note("eve\nforged line");
  v1::ApplyResponse response;
  EXPECT_EQ(stub->Apply(AsOperator().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListApplyAuditResponse audit;
  ASSERT_TRUE(stub->ListApplyAudit(AsOperator().get(), {}, &audit).ok());
  EXPECT_EQ(audit.entries_size(), 0);
}

TEST_F(PortalServerTest, EveryCallNeedsAKeyWithTheMethodsRole) {
  v1::ListUsersResponse listed;
  grpc::Status no_key = stub_->ListUsers(As("").get(), {}, &listed);
  EXPECT_EQ(no_key.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(no_key.error_message(), "missing or invalid API token");
  EXPECT_EQ(stub_->ListUsers(As("pbx_" + std::string(43, 'A')).get(), {}, &listed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::CreateUserRequest request;
  request.set_name("Viewer Made");
  request.set_email("viewer.made@example.com");
  v1::CreateUserResponse created;
  grpc::Status denied = stub_->CreateUser(As(viewer_token_).get(), request, &created);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(), ::testing::HasSubstr("needs operator"));
  EXPECT_TRUE(stub_->ListUsers(As(viewer_token_).get(), {}, &listed).ok());
  EXPECT_EQ(listed.users_size(), 0) << "the viewer's create was refused before it ran";
}

TEST(PortalServerWithoutDatabase, StartsAndAnswersUnavailableFast) {
  ServerConfig config = TestConfig("postgresql://postgres@127.0.0.1:1/none");
  config.database.connect_timeout_seconds = 1;
  auto portal = PortalServer::Start(config);
  ASSERT_TRUE(portal.ok()) << portal.status();
  auto stub = Connect((*portal)->port());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  context.AddMetadata("authorization", "Bearer pbx_" + std::string(43, 'A'));
  v1::ListUsersResponse response;
  // The keys could never be read: the token cannot be checked.
  EXPECT_EQ(stub->ListUsers(&context, {}, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  (*portal)->Shutdown(absl::ZeroDuration(), absl::Seconds(1));
}

TEST(PortalServerWithoutDatabase, RefusesToStartWithoutItsSecretKey) {
  ServerConfig config = TestConfig("postgresql://postgres@127.0.0.1:1/none");
  config.secret_key_file = "";
  auto missing = PortalServer::Start(config);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(missing.status().message()), ::testing::HasSubstr("PBX_SECRET_KEY_FILE"));
  config.secret_key_file = "/nonexistent/pbx.key";
  auto unreadable = PortalServer::Start(config);
  EXPECT_EQ(unreadable.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(unreadable.status().message()), ::testing::HasSubstr("/nonexistent/pbx.key"));
}

TEST(PortalServerWithoutDatabase, ServesMetricsOnlyWhenAskedAndRefusesATakenAddress) {
  ServerConfig config = TestConfig("postgresql://postgres@127.0.0.1:1/none");
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
