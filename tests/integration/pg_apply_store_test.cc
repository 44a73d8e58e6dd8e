// PgApplyStore against a real PostgreSQL: the audit log.
#include "server/store/pg_apply_store.h"

#include <thread>

#include <pqxx/pqxx>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/database_fixture.h"

namespace pbx {
namespace {

class PgApplyStoreTest : public testing::SchemaTest {
 protected:
  void SetUp() override {
    SchemaTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = std::make_unique<PgApplyStore>(*pool_, kMaxWaiters);
  }
  int PoolSize() const override { return 4; }

  static constexpr int kMaxWaiters = 2;
  std::unique_ptr<PgApplyStore> store_;
};

TEST_F(PgApplyStoreTest, AuditRowRoundTrips) {
  auto opened = store_->OpenAudit({"alice", "", "", "req-42"}, "ssh://root@127.0.0.1:2222");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->request_id, "req-42");
  EXPECT_EQ(opened->outcome, ApplyOutcome::kRunning);
  EXPECT_FALSE(opened->finished_at.has_value());
  ApplyAuditEntry entry = *opened;
  entry.outcome = ApplyOutcome::kSuccess;
  entry.user_count = 3;
  entry.content_hash = std::string(64, 'a');
  entry.files = {{"/etc/a.conf", std::string(64, 'b'), 1234}, {"/etc/b.conf", "cc", 5}};
  entry.reload_output = "Dialplan reloaded.\n";
  entry.verification = "ok";
  entry.duration_ms = 42;
  entry.phases = {{"read", 150}, {"upload", 2500}};
  HostApplyResult host_b;
  host_b.name = "b";
  host_b.address = "ssh://root@127.0.0.1:2233";
  host_b.outcome = ApplyOutcome::kFailure;
  host_b.error_detail = "nothing was changed: refused";
  host_b.phases = {{"connect", 7}};
  HostApplyResult host_a = host_b;
  host_a.name = "a";
  host_a.outcome = ApplyOutcome::kSuccess;
  host_a.error_detail = "";
  host_a.changed = true;
  host_a.verification = "ok: 3 endpoints";
  entry.hosts = {host_a, host_b};
  ASSERT_TRUE(store_->CloseAudit(entry).ok());
  ASSERT_TRUE(entry.finished_at.has_value());
  EXPECT_GE(*entry.finished_at, entry.started_at);

  auto listed = store_->ListAudit(10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  const ApplyAuditEntry& read = (*listed)[0];
  EXPECT_EQ(read.id, entry.id);
  EXPECT_EQ(read.triggered_by, "alice");
  EXPECT_EQ(read.request_id, "req-42");
  EXPECT_EQ(read.asterisk_host, "ssh://root@127.0.0.1:2222");
  EXPECT_EQ(read.outcome, ApplyOutcome::kSuccess);
  EXPECT_EQ(read.user_count, 3);
  EXPECT_EQ(read.content_hash, entry.content_hash);
  ASSERT_EQ(read.files.size(), 2u);
  EXPECT_EQ(read.files[0].path, "/etc/a.conf");
  EXPECT_EQ(read.files[0].sha256, std::string(64, 'b'));
  EXPECT_EQ(read.files[0].size_bytes, 1234);
  EXPECT_EQ(read.reload_output, "Dialplan reloaded.\n");
  EXPECT_EQ(read.duration_ms, 42);
  ASSERT_EQ(read.phases.size(), 2u);
  EXPECT_EQ(read.phases[0].name, "read");
  EXPECT_EQ(read.phases[1].duration_us, 2500);
  ASSERT_EQ(read.hosts.size(), 2u);
  EXPECT_EQ(read.hosts[0].name, "a");
  EXPECT_EQ(read.hosts[0].outcome, ApplyOutcome::kSuccess);
  EXPECT_TRUE(read.hosts[0].changed);
  EXPECT_EQ(read.hosts[0].verification, "ok: 3 endpoints");
  EXPECT_EQ(read.hosts[1].address, "ssh://root@127.0.0.1:2233");
  EXPECT_EQ(read.hosts[1].outcome, ApplyOutcome::kFailure);
  EXPECT_FALSE(read.hosts[1].changed);
  EXPECT_EQ(read.hosts[1].error_detail, "nothing was changed: refused");
  ASSERT_EQ(read.hosts[1].phases.size(), 1u);
  EXPECT_EQ(read.hosts[1].phases[0].name, "connect");
  EXPECT_EQ(read.hosts[1].phases[0].duration_us, 7);
}

TEST_F(PgApplyStoreTest, RejectedApplyKeepsItsRequestId) {
  auto rejected = store_->RecordRejectedApply({"carol", "", "", "req-rejected"}, "local",
                                              absl::Milliseconds(300), "another Apply ran");
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->request_id, "req-rejected");
  auto latest = store_->LatestAudits();
  ASSERT_TRUE(latest.ok() && latest->any.has_value());
  EXPECT_EQ(latest->any->request_id, "req-rejected");
  EXPECT_FALSE(latest->successful.has_value());
}

TEST_F(PgApplyStoreTest, MissingRequestIdIsNullInTheTable) {
  auto opened = store_->OpenAudit({"dave", "", "", ""}, "local");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->request_id, "");
  pqxx::connection connection(url());
  EXPECT_TRUE(pqxx::nontransaction(connection)
                  .exec_params1("SELECT request_id IS NULL FROM apply_audit_log WHERE id = $1",
                                opened->id)[0]
                  .as<bool>());
}

// What SQL readers of the table see (the store's format, json_columns.h):
// snake_case keys, integers as numbers.
TEST_F(PgApplyStoreTest, ListsAreStoredWithSnakeCaseKeysAndNumbers) {
  auto entry = store_->OpenAudit({"erin", "", "", ""}, "local");
  ASSERT_TRUE(entry.ok());
  entry->outcome = ApplyOutcome::kSuccess;
  entry->files = {{"/etc/a.conf", "aa", 1234}};
  entry->phases = {{"read", 0}};
  ASSERT_TRUE(store_->CloseAudit(*entry).ok());
  pqxx::connection connection(url());
  pqxx::row row = pqxx::nontransaction(connection).exec_params1(
      "SELECT files->0->>'size_bytes', phases->0->>'name', phases->0->>'duration_us',"
      " jsonb_typeof(files->0->'size_bytes'), jsonb_typeof(phases->0->'duration_us')"
      " FROM apply_audit_log WHERE id = $1",
      entry->id);
  EXPECT_EQ(row[0].as<std::string>(), "1234");
  EXPECT_EQ(row[1].as<std::string>(), "read");
  EXPECT_EQ(row[2].as<std::string>(), "0");
  EXPECT_EQ(row[3].as<std::string>(), "number");
  EXPECT_EQ(row[4].as<std::string>(), "number");
}

// Rows closed by earlier versions must read exactly as before: before the
// lists were written as proto JSON, int64 values were JSON numbers (as they
// are again today); as proto JSON they were strings.
TEST_F(PgApplyStoreTest, RowsOfEveryEarlierFormatStillRead) {
  const struct {
    const char* format;
    const char* files;
    const char* phases;
  } rows[] = {
      {"numbers",
       R"([{"path": "/etc/a.conf", "sha256": "bb", "size_bytes": 1234},
           {"path": "/etc/b.conf", "sha256": "cc", "size_bytes": 5}])",
       R"([{"name": "read", "duration_us": 150},
           {"name": "upload", "duration_us": 9007199254740993}])"},
      {"proto JSON",
       R"([{"path": "/etc/a.conf", "sha256": "bb", "size_bytes": "1234"},
           {"path": "/etc/b.conf", "sha256": "cc", "size_bytes": "5"}])",
       R"([{"name": "read", "duration_us": "150"},
           {"name": "upload", "duration_us": "9007199254740993"}])"},
  };
  pqxx::connection connection(url());
  for (const auto& row : rows) {
    SCOPED_TRACE(row.format);
    pqxx::nontransaction(connection)
        .exec_params("INSERT INTO apply_audit_log (finished_at, triggered_by, asterisk_host,"
                     " outcome, files, phases, duration_ms) VALUES (now(), 'old', 'local',"
                     " 'success', $1::jsonb, $2::jsonb, 7)",
                     row.files, row.phases);
    auto listed = store_->ListAudit(1);
    ASSERT_TRUE(listed.ok()) << listed.status();
    ASSERT_EQ(listed->size(), 1u);
    const ApplyAuditEntry& read = (*listed)[0];
    EXPECT_EQ(read.request_id, "");
    ASSERT_EQ(read.files.size(), 2u);
    EXPECT_EQ(read.files[0].path, "/etc/a.conf");
    EXPECT_EQ(read.files[0].sha256, "bb");
    EXPECT_EQ(read.files[0].size_bytes, 1234);
    EXPECT_EQ(read.files[1].size_bytes, 5);
    ASSERT_EQ(read.phases.size(), 2u);
    EXPECT_EQ(read.phases[0].name, "read");
    EXPECT_EQ(read.phases[0].duration_us, 150);
    EXPECT_EQ(read.phases[1].name, "upload");
    EXPECT_EQ(read.phases[1].duration_us, 9007199254740993);  // above 2^53: never via a double
  }
}

TEST_F(PgApplyStoreTest, LatestAndListAreNewestFirst) {
  std::vector<int64_t> ids;
  for (ApplyOutcome outcome :
       {ApplyOutcome::kSuccess, ApplyOutcome::kFailure, ApplyOutcome::kFailure}) {
    auto entry = store_->OpenAudit({"bob", "", "", ""}, "local");
    ASSERT_TRUE(entry.ok());
    entry->outcome = outcome;
    ASSERT_TRUE(store_->CloseAudit(*entry).ok());
    ids.push_back(entry->id);
  }
  auto two = store_->ListAudit(2);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].id, ids[2]);
  EXPECT_EQ((*two)[1].id, ids[1]);
  auto latest = store_->LatestAudits();
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->any->id, ids[2]);
  EXPECT_EQ(latest->any->outcome, ApplyOutcome::kFailure);
  EXPECT_EQ(latest->successful->id, ids[0]);
  EXPECT_EQ(latest->successful->outcome, ApplyOutcome::kSuccess);
}

// Per host, the newest row in which it succeeded, whatever the others did;
// a success recorded before hosts were counts for the legacy host alone.
TEST_F(PgApplyStoreTest, EachHostsLatestSuccessIsFoundInTheHostsColumn) {
  pqxx::connection connection(url());
  // As the single-host code closed a success: no hosts.
  const int64_t legacy =
      pqxx::nontransaction(connection)
          .exec1("INSERT INTO apply_audit_log (finished_at, triggered_by, asterisk_host, outcome,"
                 " content_hash) VALUES (now(), 'old', 'ssh://root@127.0.0.1:2222', 'success',"
                 " 'h0') RETURNING id")[0]
          .as<int64_t>();
  // Closes an Apply with `outcome`, each of `hosts` (name, outcome) as given.
  auto close = [&](ApplyOutcome outcome, const std::string& hash,
                   const std::vector<std::pair<std::string, ApplyOutcome>>& hosts) -> int64_t {
    auto entry = store_->OpenAudit({"bob", "", "", ""}, "a=x,b=y");
    EXPECT_TRUE(entry.ok()) << entry.status();
    entry->outcome = outcome;
    entry->content_hash = hash;
    for (const auto& [name, host_outcome] : hosts) {
      HostApplyResult host;
      host.name = name;
      host.address = "ssh://" + name;
      host.outcome = host_outcome;
      entry->hosts.push_back(host);
    }
    EXPECT_TRUE(store_->CloseAudit(*entry).ok());
    return entry->id;
  };
  const int64_t both = close(ApplyOutcome::kSuccess, "h1",
                             {{"a", ApplyOutcome::kSuccess}, {"b", ApplyOutcome::kSuccess}});
  const int64_t only_a = close(ApplyOutcome::kFailure, "h2",
                               {{"a", ApplyOutcome::kSuccess}, {"b", ApplyOutcome::kFailure}});
  // Neither counts for anyone: refused (no hosts, failed) and still running.
  ASSERT_TRUE(store_->RecordRejectedApply({"carol", "", "", ""}, "a=x,b=y", absl::Seconds(1),
                                          "another Apply ran")
                  .ok());
  ASSERT_TRUE(store_->OpenAudit({"dave", "", "", ""}, "a=x,b=y").ok());

  auto found = store_->LatestHostSuccesses({"b", "a", "c", "asterisk"}, "asterisk");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 4u);
  ASSERT_TRUE((*found)[0].has_value());
  EXPECT_EQ((*found)[0]->id, both);
  EXPECT_EQ((*found)[0]->content_hash, "h1");
  ASSERT_EQ((*found)[0]->hosts.size(), 2u);
  ASSERT_TRUE((*found)[1].has_value());
  EXPECT_EQ((*found)[1]->id, only_a);
  EXPECT_EQ((*found)[1]->content_hash, "h2");
  EXPECT_EQ((*found)[1]->outcome, ApplyOutcome::kFailure);
  EXPECT_FALSE((*found)[2].has_value()) << "c never succeeded";
  ASSERT_TRUE((*found)[3].has_value());
  EXPECT_EQ((*found)[3]->id, legacy);
  EXPECT_EQ((*found)[3]->content_hash, "h0");

  // The only host, named otherwise, takes the legacy success; without a
  // legacy host nobody does.
  found = store_->LatestHostSuccesses({"pbx1"}, "pbx1");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->at(0).has_value());
  EXPECT_EQ(found->at(0)->id, legacy);
  found = store_->LatestHostSuccesses({"asterisk", "c"}, "");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->at(0).has_value());
  EXPECT_FALSE(found->at(1).has_value());
  found = store_->LatestHostSuccesses({}, "");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->empty());
}

TEST_F(PgApplyStoreTest, StaleRunningRowsBecomeInterrupted) {
  auto stale = store_->OpenAudit({"crashed", "", "", ""}, "local");
  ASSERT_TRUE(stale.ok());
  {
    // While an Apply holds the lock its 'running' row is not touched.
    auto lock = store_->LockApply(absl::Seconds(1));
    ASSERT_TRUE(lock.ok());
    EXPECT_EQ(*store_->RecoverInterruptedApplies(), 0);
  }
  EXPECT_EQ(*store_->RecoverInterruptedApplies(), 1);
  auto latest = store_->LatestAudits();
  ASSERT_TRUE(latest.ok() && latest->any.has_value());
  EXPECT_EQ(latest->any->outcome, ApplyOutcome::kInterrupted);
  EXPECT_TRUE(latest->any->finished_at.has_value());
  EXPECT_THAT(latest->any->error_detail, ::testing::HasSubstr("stopped before"));
}

TEST_F(PgApplyStoreTest, ChangedAndForcedAreRecorded) {
  ApplyRequester forced{"alice", "", "", "req-1"};
  forced.force = true;
  auto opened = store_->OpenAudit(forced, "local");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->forced);
  EXPECT_FALSE(opened->changed) << "nothing is written yet";
  ApplyAuditEntry entry = *opened;
  entry.outcome = ApplyOutcome::kSuccess;
  entry.changed = true;
  ASSERT_TRUE(store_->CloseAudit(entry).ok());

  auto unforced = store_->OpenAudit({"alice", "", "", "req-2"}, "local");
  ASSERT_TRUE(unforced.ok());
  entry = *unforced;
  entry.outcome = ApplyOutcome::kSuccess;
  entry.changed = false;
  ASSERT_TRUE(store_->CloseAudit(entry).ok());

  auto listed = store_->ListAudit(10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_FALSE((*listed)[0].changed);
  EXPECT_FALSE((*listed)[0].forced);
  EXPECT_TRUE((*listed)[1].changed);
  EXPECT_TRUE((*listed)[1].forced);
  auto rejected = store_->RecordRejectedApply(forced, "local", absl::Seconds(1), "lock");
  ASSERT_TRUE(rejected.ok());
  EXPECT_TRUE(rejected->forced);
  EXPECT_FALSE(rejected->changed);
}

TEST_F(PgApplyStoreTest, OneProcessClaimsEachDriftCheck) {
  // Two server processes on one database: their own stores and pools.
  PgApplyStore other(*pool_, kMaxWaiters);
  auto none = store_->LatestDriftCheck();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value()) << "no check before the first";

  auto first = store_->ClaimDriftCheck(absl::Seconds(60), "a:1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*other.ClaimDriftCheck(absl::Seconds(60), "b:2")) << "claimed twice in one interval";
  EXPECT_FALSE(*store_->ClaimDriftCheck(absl::Seconds(60), "a:1"));

  DriftCheckSummary summary;
  summary.completed = true;
  summary.in_sync = false;
  summary.checked_by = "a:1";
  summary.counts = {{"FILE_CHANGED", 1}, {"UNEXPECTED_OBJECT", 2}};
  summary.hosts = {{"one", "ssh://one", true, true, {{"FILE_CHANGED", 0}}, ""},
                   {"two", "ssh://two", true, false, {{"FILE_CHANGED", 1}}, ""}};
  ASSERT_TRUE(store_->RecordDriftCheck(summary).ok());
  auto latest = other.LatestDriftCheck();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_TRUE((*latest)->completed);
  EXPECT_FALSE((*latest)->in_sync);
  EXPECT_EQ((*latest)->checked_by, "a:1");
  EXPECT_EQ((*latest)->counts.at("UNEXPECTED_OBJECT"), 2);
  ASSERT_EQ((*latest)->hosts.size(), 2u) << "each host's part of the check is stored";
  EXPECT_EQ((*latest)->hosts[0].name, "one");
  EXPECT_TRUE((*latest)->hosts[0].in_sync);
  EXPECT_EQ((*latest)->hosts[1].address, "ssh://two");
  EXPECT_FALSE((*latest)->hosts[1].in_sync);
  EXPECT_EQ((*latest)->hosts[1].counts.at("FILE_CHANGED"), 1);
  EXPECT_LE(absl::Now() - (*latest)->checked_at, absl::Minutes(1));

  // An interval later (a short one here), the other process takes its turn.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(*other.ClaimDriftCheck(absl::Milliseconds(200), "b:2"));
  DriftCheckSummary failed;
  failed.checked_by = "b:2";
  failed.error = "Asterisk is not running on its host";
  ASSERT_TRUE(other.RecordDriftCheck(failed).ok());
  latest = store_->LatestDriftCheck();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_FALSE((*latest)->completed);
  EXPECT_EQ((*latest)->error, failed.error);
}

}  // namespace
}  // namespace pbx
