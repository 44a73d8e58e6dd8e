#include "server/app/database_supervisor.h"

#include <string>

#include "server/common/log.h"
#include "server/store/migrations.h"
#include "server/store/pg_errors.h"

namespace pbx {

DatabaseSupervisor::DatabaseSupervisor(PgPool& pool,
                                       grpc::HealthCheckServiceInterface* health,
                                       absl::Duration interval, PrepareData prepare_data,
                                       std::function<void()> on_schema_ready)
    : pool_(pool),
      health_(health),
      interval_(interval),
      prepare_data_(std::move(prepare_data)),
      on_schema_ready_(std::move(on_schema_ready)) {}

DatabaseSupervisor::~DatabaseSupervisor() { Stop(); }

absl::Status DatabaseSupervisor::EnsureSchema() {
  if (pool_.schema_ready()) return absl::OkStatus();
  auto connection = pool_.Connect();
  if (!connection.ok()) return connection.status();
  absl::Status status = ApplyMigrations(**connection, EmbeddedMigrations());
  if (status.ok() && prepare_data_) status = prepare_data_(**connection);
  if (status.ok()) {
    pool_.MarkSchemaReady();
    LogInfo("database schema ready");
    if (on_schema_ready_) on_schema_ready_();
  }
  return status;
}

bool DatabaseSupervisor::Ping() {
  try {
    if (probe_ == nullptr || !probe_->is_open()) {
      auto connection = pool_.Connect();
      if (!connection.ok()) return false;
      probe_ = std::move(*connection);
    }
    // Healthy means able to serve creates: a server that only reads (a
    // standby the URL leads to, with target_session_attrs=any) is not.
    const pqxx::result read_only =
        pqxx::nontransaction(*probe_).exec("SHOW transaction_read_only");
    if (read_only[0][0].as<std::string>() == "off") return true;
    LogWarning("database is read-only (a standby?): not serving");
    probe_.reset();
    return false;
  } catch (...) {
    (void)StatusFromDatabaseException(std::current_exception());
    probe_.reset();
    return false;
  }
}

absl::Status DatabaseSupervisor::CheckNow() {
  absl::Status status = EnsureSchema();
  if (status.ok() && !Ping()) status = DatabaseUnavailableError();
  if (health_ != nullptr) health_->SetServingStatus(status.ok());
  return status;
}

void DatabaseSupervisor::Start() {
  thread_ = std::thread([this] {
    bool was_serving = true;
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) {
      mu_.Unlock();
      const bool serving = CheckNow().ok();
      if (serving != was_serving) {
        LogInfo(serving ? "database reachable" : "database unreachable");
        was_serving = serving;
      }
      mu_.Lock();
    }
  });
}

void DatabaseSupervisor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace pbx
