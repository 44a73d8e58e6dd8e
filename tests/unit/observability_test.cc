// The scrape-time state, the bounded wait behind it, and the gRPC interceptor
// on an in-process server at 127.0.0.1:0. No database.
#include <atomic>
#include <future>
#include <sstream>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <prometheus/text_serializer.h>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "pbx/v1/user_service.grpc.pb.h"
#include "server/observability/bounded_reader.h"
#include "server/observability/portal_metrics.h"
#include "server/observability/state_collector.h"
#include "server/transport/metrics_interceptor.h"

namespace pbx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Exposition(const prometheus::Collectable& collectable) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collectable.Collect());
  return out.str();
}

// ---------------------------------------------------------------- BoundedReader

TEST(BoundedReader, EveryCallGetsTheResultOfAReadStartedAfterIt) {
  std::atomic<int> reads{0};
  BoundedReader<int> reader([&]() -> absl::StatusOr<int> { return ++reads; },
                            absl::Seconds(5));
  EXPECT_EQ(*reader.ReadFresh(), 1);
  EXPECT_EQ(*reader.ReadFresh(), 2);
}

TEST(BoundedReader, PassesErrorsOn) {
  BoundedReader<int> reader([]() -> absl::StatusOr<int> { return absl::UnavailableError("down"); },
                            absl::Seconds(5));
  EXPECT_EQ(reader.ReadFresh().status().code(), absl::StatusCode::kUnavailable);
}

TEST(BoundedReader, ASlowReadTimesCallersOutWithoutPilingUpReads) {
  std::atomic<int> reads{0};
  absl::Notification release;
  BoundedReader<int> reader(
      [&]() -> absl::StatusOr<int> {
        const int n = ++reads;
        if (n == 1) release.WaitForNotification();
        return n;
      },
      absl::Milliseconds(50));

  const absl::Time start = absl::Now();
  EXPECT_EQ(reader.ReadFresh().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(reader.ReadFresh().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(reads.load(), 1) << "a second read started while the first still ran";

  release.Notify();
  // The late result of read 1 predates this call, so it is not the answer.
  // (Read 2, asked for by the second call, may run first and predate it too.)
  absl::StatusOr<int> fresh = reader.ReadFresh();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_GE(*fresh, 2);
  EXPECT_LE(reads.load(), 3);
}

// ---------------------------------------------------------------- StateCollector

TEST(StateCollector, ReportsPoolUseAndExtensionsAtScrapeTime) {
  PgPoolStats pool;
  pool.in_use = 3;
  pool.idle = 2;
  pool.max = 8;
  pool.acquire_waits = 4;
  pool.acquire_wait_time = absl::Milliseconds(1500);
  pool.acquire_timeouts = 1;
  int allocated = 7;
  StateCollector collector([&] { return pool; }, [&]() -> absl::StatusOr<int> { return allocated; },
                           absl::Seconds(5));

  std::string text = Exposition(collector);
  EXPECT_THAT(text, HasSubstr("# TYPE pbx_db_pool_connections gauge"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_connections{state=\"in_use\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_connections{state=\"idle\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_max_connections 8\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE pbx_db_pool_acquire_waits_total counter"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_acquire_waits_total 4\n"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_acquire_wait_seconds_total 1.5\n"));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_acquire_timeouts_total 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_count_success 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_allocated 7\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_free 993\n"));

  // Read again at the next scrape, not remembered.
  pool.in_use = 0;
  allocated = 1000;
  text = Exposition(collector);
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_connections{state=\"in_use\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_allocated 1000\n"));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_free 0\n"));
}

TEST(StateCollector, LeavesTheExtensionGaugesOutWhenTheCountFails) {
  int calls = 0;
  PgPoolStats pool;
  pool.max = 8;
  StateCollector collector([&] { return pool; },
                           [&]() -> absl::StatusOr<int> {
                             if (++calls == 1) return 5;
                             return absl::UnavailableError("database down");
                           },
                           absl::Seconds(5));
  EXPECT_THAT(Exposition(collector), HasSubstr("pbx_extensions_allocated 5\n"));

  // Not the 5 from before: no value rather than an old one.
  const std::string text = Exposition(collector);
  EXPECT_THAT(text, HasSubstr("pbx_extensions_count_success 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("pbx_extensions_allocated")));
  EXPECT_THAT(text, Not(HasSubstr("pbx_extensions_free")));
  EXPECT_THAT(text, HasSubstr("pbx_db_pool_max_connections 8\n"));
}

TEST(StateCollector, AScrapeWaitsForASlowCountOnlyThatLong) {
  absl::Notification release;
  StateCollector collector([] { return PgPoolStats{}; },
                           [&]() -> absl::StatusOr<int> {
                             release.WaitForNotification();
                             return 1;
                           },
                           absl::Milliseconds(100));
  const absl::Time start = absl::Now();
  const std::string text = Exposition(collector);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_THAT(text, HasSubstr("pbx_extensions_count_success 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("pbx_extensions_allocated")));
  release.Notify();  // lets the collector's destructor join its reader
}

// ---------------------------------------------------------------- MetricsInterceptor

class MetricsInterceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&unimplemented_users_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(std::make_unique<MetricsInterceptorFactory>(metrics_));
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
  grpc::Status Call(const std::string& method, const std::string& serialized_request) {
    grpc::ClientContext context;
    grpc::Slice slice(serialized_request);
    grpc::ByteBuffer request(&slice, 1), response;
    std::promise<grpc::Status> done;
    grpc::GenericStub(channel_).UnaryCall(
        &context, method, grpc::StubOptions(), &request, &response,
        [&done](grpc::Status status) { done.set_value(std::move(status)); });
    return done.get_future().get();
  }

  grpc::Status Check(const std::string& service) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    return Call("/grpc.health.v1.Health/Check", request.SerializeAsString());
  }

  PortalMetrics metrics_;
  // Every method answers UNIMPLEMENTED, but this binary knows them.
  v1::UserService::Service unimplemented_users_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(MetricsInterceptorTest, CountsEveryCallByMethodAndFinalCodeBeforeTheClientHasIt) {
  ASSERT_TRUE(Check("").ok());
  ASSERT_TRUE(Check("").ok());
  ASSERT_EQ(Check("no.such.Service").error_code(), grpc::StatusCode::NOT_FOUND);

  // Read right after the answers came back: the interceptor records before
  // the status leaves the server.
  const std::string text = Exposition(*metrics_.registry());
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"OK\","
                              "grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"NOT_FOUND\","
                              "grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handling_seconds_count{grpc_method=\"Check\","
                              "grpc_service=\"grpc.health.v1.Health\"} 3\n"));
}

TEST_F(MetricsInterceptorTest, MethodsNoServiceHasAreCountedAsUnknown) {
  for (const char* method : {"/made.up.Service/One", "/made.up.Service/Two"}) {
    ASSERT_EQ(Call(method, "").error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  ASSERT_EQ(Call("/pbx.v1.UserService/ListUsers", "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  const std::string text = Exposition(*metrics_.registry());
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"UNIMPLEMENTED\","
                              "grpc_method=\"unknown\",grpc_service=\"unknown\"} 2\n"));
  EXPECT_THAT(text, Not(HasSubstr("made.up")));
  EXPECT_THAT(text, HasSubstr("pbx_grpc_server_handled_total{grpc_code=\"UNIMPLEMENTED\","
                              "grpc_method=\"ListUsers\",grpc_service=\"pbx.v1.UserService\"}"
                              " 1\n"));
}

}  // namespace
}  // namespace pbx
