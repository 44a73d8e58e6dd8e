// The per-call pipeline on an in-process server at 127.0.0.1:0: request id,
// log lines and metrics for every call, whatever service it reaches.
#include "server/transport/call_pipeline.h"

#include <future>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "tests/unit/exposition.h"
#include "pbx/v1/user_service.grpc.pb.h"
#include "server/common/log.h"
#include "server/transport/request_id.h"

namespace pbx {
namespace {

using testing::Exposition;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// Answers ListUsers with nothing, noting the request id and caller it was
// handed, whether the token reached it, and what a log line written while
// handling the call looks like; every other method answers UNIMPLEMENTED.
class ProbeUserService : public v1::UserService::Service {
 public:
  grpc::Status ListUsers(grpc::ServerContext* context, const v1::ListUsersRequest*,
                         v1::ListUsersResponse*) override {
    seen_request_id = RequestIdOf(*context);
    seen_caller = CallerOf(*context);
    saw_authorization = context->client_metadata().count("authorization") > 0;
    line_in_handler = FormatLogLine("info", "handling", {});
    return grpc::Status::OK;
  }
  std::string seen_request_id;
  std::optional<Principal> seen_caller;
  bool saw_authorization = false;
  std::string line_in_handler;
};

constexpr char kGoodToken[] = "pbx_good";
const Principal kGoodCaller{"00000000-0000-4000-8000-00000000000a", "ci-deployer", Role::kOperator};

std::optional<Principal> FindCaller(absl::string_view token) {
  if (token == kGoodToken) return kGoodCaller;
  return std::nullopt;
}

class CallPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&users_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(std::make_unique<CallPipelineFactory>(metrics_, FindCaller));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // Through a generic stub: the build generates no gRPC stubs for health.
  grpc::Status Call(const std::string& method, const std::string& serialized_request,
                    grpc::ClientContext* context = nullptr) {
    grpc::ClientContext own_context;
    if (context == nullptr) context = &own_context;
    grpc::Slice slice(serialized_request);
    grpc::ByteBuffer request(&slice, 1), response;
    std::promise<grpc::Status> done;
    grpc::GenericStub(channel_).UnaryCall(
        context, method, grpc::StubOptions(), &request, &response,
        [&done](grpc::Status status) { done.set_value(std::move(status)); });
    return done.get_future().get();
  }

  grpc::Status Check(const std::string& service) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    return Call("/grpc.health.v1.Health/Check", request.SerializeAsString());
  }

  // ListUsers with x-request-id `sent` (none when empty) and `extra`
  // metadata; returns the id the server answered in its initial metadata.
  std::string ListUsersWithRequestId(
      const std::string& sent, const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    grpc::ClientContext context;
    if (!sent.empty()) context.AddMetadata(kRequestIdMetadataKey, sent);
    for (const auto& [key, value] : extra) context.AddMetadata(key, value);
    EXPECT_TRUE(Call("/pbx.v1.UserService/ListUsers", "", &context).ok());
    auto answered = context.GetServerInitialMetadata().find(kRequestIdMetadataKey);
    if (answered == context.GetServerInitialMetadata().end()) return "";
    return std::string(answered->second.data(), answered->second.size());
  }

  PortalMetrics metrics_;
  ProbeUserService users_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(CallPipelineTest, TheCallersRequestIdReachesHandlerLogLinesAndAnswer) {
  EXPECT_EQ(ListUsersWithRequestId("abc-123"), "abc-123");
  EXPECT_EQ(users_.seen_request_id, "abc-123");
  EXPECT_THAT(users_.line_in_handler, HasSubstr(R"("request_id":"abc-123")"));
  // The scope ends with the call: this thread's lines carry no id.
  EXPECT_THAT(FormatLogLine("info", "after", {}), Not(HasSubstr("request_id")));
}

TEST_F(CallPipelineTest, TheHandlerSeesTheCallersKeyButNotTheToken) {
  ListUsersWithRequestId("who-1", {{"authorization", std::string("Bearer ") + kGoodToken}});
  ASSERT_TRUE(users_.seen_caller.has_value());
  EXPECT_EQ(users_.seen_caller->key_id, kGoodCaller.key_id);
  EXPECT_EQ(users_.seen_caller->key_name, "ci-deployer");
  EXPECT_EQ(users_.seen_caller->role, Role::kOperator);
  EXPECT_FALSE(users_.saw_authorization);
}

TEST_F(CallPipelineTest, ACallerCannotNameItselfThroughMetadata) {
  ListUsersWithRequestId("who-2", {{"pbx-caller-key-id", "00000000-0000-4000-8000-0000000000ff"},
                                   {"pbx-caller-key-name", "admin"},
                                   {"pbx-caller-role", "admin"}});
  EXPECT_FALSE(users_.seen_caller.has_value());
  ListUsersWithRequestId("who-3", {{"authorization", "Bearer pbx_forged"},
                                   {"pbx-caller-key-name", "admin"}});
  EXPECT_FALSE(users_.seen_caller.has_value());
}

TEST_F(CallPipelineTest, TheRpcLineNamesTheCallersKey) {
  ::testing::internal::CaptureStderr();
  ListUsersWithRequestId("log-2", {{"authorization", std::string("Bearer ") + kGoodToken}});
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logged, HasSubstr(R"("key_name":"ci-deployer","key_id":"00000000-0000-4000-8000-00000000000a")"));
  EXPECT_THAT(logged, Not(HasSubstr(kGoodToken)));
}

TEST_F(CallPipelineTest, AnInvalidOrMissingRequestIdIsReplacedByANewOne) {
  const std::vector<std::string> invalid = {"bad id\"}", std::string(129, 'x'), ""};
  for (const std::string& sent : invalid) {
    const std::string answered = ListUsersWithRequestId(sent);
    EXPECT_THAT(answered, MatchesRegex("[0-9a-f]{32}")) << sent;
    EXPECT_EQ(users_.seen_request_id, answered) << "the handler sees the id the caller gets";
    EXPECT_THAT(users_.line_in_handler, HasSubstr("\"request_id\":\"" + answered + "\""));
  }
}

TEST_F(CallPipelineTest, LogsOneRpcLineWithTheFullMethodName) {
  ::testing::internal::CaptureStderr();
  ListUsersWithRequestId("log-1");
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logged, HasSubstr(R"("msg":"rpc","request_id":"log-1","method":"/pbx.v1.UserService/ListUsers","code":"OK","duration_ms":)"));
}

TEST_F(CallPipelineTest, CountsEveryCallByMethodAndFinalCodeBeforeTheClientHasIt) {
  ASSERT_TRUE(Check("").ok());
  ASSERT_TRUE(Check("").ok());
  ASSERT_EQ(Check("no.such.Service").error_code(), grpc::StatusCode::NOT_FOUND);

  // Read right after the answers came back: the pipeline records before the
  // status leaves the server.
  const std::string text = Exposition(*metrics_.registry());
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"OK\","
                              "grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"NOT_FOUND\","
                              "grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handling_seconds_count{grpc_method=\"Check\","
                              "grpc_service=\"grpc.health.v1.Health\"} 3\n"));
}

TEST_F(CallPipelineTest, MethodsNoServiceHasAreCountedAsUnknown) {
  for (const char* method : {"/made.up.Service/One", "/made.up.Service/Two"}) {
    ASSERT_EQ(Call(method, "").error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  ASSERT_EQ(Call("/pbx.v1.UserService/GetUser", "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  const std::string text = Exposition(*metrics_.registry());
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"UNIMPLEMENTED\","
                              "grpc_method=\"unknown\",grpc_service=\"unknown\"} 2\n"));
  EXPECT_THAT(text, Not(HasSubstr("made.up")));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"UNIMPLEMENTED\","
                              "grpc_method=\"GetUser\",grpc_service=\"pbx.v1.UserService\"}"
                              " 1\n"));
}

}  // namespace
}  // namespace pbx
