// The store's format for its jsonb columns, without a database (the
// integration tests read rows of every earlier format back from PostgreSQL).
#include "server/store/json_columns.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx {
namespace {

TEST(JsonColumns, FilesAndPhasesRoundTrip) {
  const std::vector<ConfigFileRecord> files = {{"/etc/a.conf", "ab12", 1234},
                                               {"/etc/b \"q\".conf", "", 0}};
  const std::vector<ApplyPhase> phases = {{"read", 150}, {"upload", 9007199254740993}};
  EXPECT_EQ(FilesToJson(files),
            R"([{"path":"/etc/a.conf","sha256":"ab12","size_bytes":1234},)"
            R"({"path":"/etc/b \"q\".conf","sha256":"","size_bytes":0}])");
  EXPECT_EQ(PhasesToJson(phases),
            R"([{"duration_us":150,"name":"read"},{"duration_us":9007199254740993,"name":"upload"}])");
  const std::vector<ConfigFileRecord> files_back = FilesFromJson(FilesToJson(files));
  ASSERT_EQ(files_back.size(), 2u);
  EXPECT_EQ(files_back[1].path, "/etc/b \"q\".conf");
  EXPECT_EQ(files_back[0].size_bytes, 1234);
  const std::vector<ApplyPhase> phases_back = PhasesFromJson(PhasesToJson(phases));
  ASSERT_EQ(phases_back.size(), 2u);
  EXPECT_EQ(phases_back[1].name, "upload");
  EXPECT_EQ(phases_back[1].duration_us, 9007199254740993);
}

TEST(JsonColumns, ReadsInt64WrittenAsStringsByProtoJson) {
  const std::vector<ApplyPhase> phases =
      PhasesFromJson(R"([{"name": "upload", "duration_us": "9007199254740993", "extra": 1}])");
  ASSERT_EQ(phases.size(), 1u);
  EXPECT_EQ(phases[0].duration_us, 9007199254740993);
}

TEST(JsonColumns, WhatIsNotAListReadsAsEmpty) {
  for (const char* json : {"", "{", "{}", "null", "\"x\"", "[1, 2]"}) {
    EXPECT_TRUE(FilesFromJson(json).empty()) << json;
    EXPECT_TRUE(PhasesFromJson(json).empty()) << json;
    EXPECT_TRUE(HostsFromJson(json).empty()) << json;
  }
}

TEST(JsonColumns, HostsRoundTripAndToleratePartialObjects) {
  HostApplyResult host;
  host.name = "pbx-a";
  host.address = "ssh://portal@10.0.0.1:22";
  host.outcome = ApplyOutcome::kFailure;
  host.error_detail = "reload failed: \"x\"";
  host.changed = true;
  host.phases = {{"connect", 12}, {"inspect", 9007199254740993}};
  host.reload_output = "out\n";
  host.verification = "mismatch";
  const std::vector<HostApplyResult> back = HostsFromJson(HostsToJson({host}));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].name, host.name);
  EXPECT_EQ(back[0].address, host.address);
  EXPECT_EQ(back[0].outcome, ApplyOutcome::kFailure);
  EXPECT_EQ(back[0].error_detail, host.error_detail);
  EXPECT_TRUE(back[0].changed);
  ASSERT_EQ(back[0].phases.size(), 2u);
  EXPECT_EQ(back[0].phases[1].duration_us, 9007199254740993);
  EXPECT_EQ(back[0].reload_output, "out\n");
  EXPECT_EQ(back[0].verification, "mismatch");
  const std::vector<HostApplyResult> partial =
      HostsFromJson(R"([{"name": "b", "outcome": "success", "phases": 3}, 7])");
  ASSERT_EQ(partial.size(), 1u);
  EXPECT_EQ(partial[0].outcome, ApplyOutcome::kSuccess);
  EXPECT_FALSE(partial[0].changed);
  EXPECT_TRUE(partial[0].phases.empty());
}

TEST(JsonColumns, DriftHostsRoundTripAndAnUnreadHostHasNoInSync) {
  const HostDriftSummary read{"a", "ssh://a", true, false, {{"FILE_CHANGED", 2}}, ""};
  const HostDriftSummary unread{"b", "ssh://b", false, false, {{"HOST_UNREACHABLE", 1}},
                                "connection refused"};
  const std::string json = DriftHostsToJson({read, unread});
  EXPECT_THAT(json, ::testing::HasSubstr(R"("in_sync":null)"));
  const std::vector<HostDriftSummary> back = DriftHostsFromJson(json);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].name, "a");
  EXPECT_EQ(back[0].address, "ssh://a");
  EXPECT_TRUE(back[0].completed);
  EXPECT_FALSE(back[0].in_sync);
  EXPECT_EQ(back[0].counts.at("FILE_CHANGED"), 2);
  EXPECT_FALSE(back[1].completed);
  EXPECT_EQ(back[1].counts.at("HOST_UNREACHABLE"), 1);
  EXPECT_EQ(back[1].error, "connection refused");
  EXPECT_TRUE(DriftHostsFromJson("{}").empty());
  EXPECT_TRUE(DriftHostsFromJson("[]").empty());
}

TEST(JsonColumns, MetadataRoundTripsAndToleratesOtherShapes) {
  const std::map<std::string, std::string> metadata = {{"team", "ops \"a\"\n"}, {"k", ""}};
  EXPECT_EQ(MetadataFromJson(MetadataToJson(metadata)), metadata);
  EXPECT_EQ(MetadataToJson({}), "{}");
  EXPECT_TRUE(MetadataFromJson("{}").empty());
  EXPECT_TRUE(MetadataFromJson("[1]").empty());
  EXPECT_EQ(MetadataFromJson(R"({"a": "b", "n": 1})"),
            (std::map<std::string, std::string>{{"a", "b"}}));
}

}  // namespace
}  // namespace pbx
