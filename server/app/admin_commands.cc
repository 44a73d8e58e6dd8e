#include "server/app/admin_commands.h"

#include <iostream>

#include "server/keys/admin_bootstrap.h"
#include "server/keys/key_operations.h"
#include "server/store/migrations.h"
#include "server/store/pg_api_key_store.h"
#include "server/store/pg_pool.h"
#include "server/store/secret_box.h"
#include "server/store/sip_secret_sealing.h"

namespace pbx {
namespace {

int Fail(absl::string_view message) {
  std::cerr << "pbx-server: " << message << std::endl;
  return 1;
}

// A connection with the schema in place, for commands that run before (or
// beside) the servers.
absl::StatusOr<std::unique_ptr<pqxx::connection>> MigratedConnection(PgPool& pool) {
  absl::StatusOr<std::unique_ptr<pqxx::connection>> connection = pool.Connect();
  if (!connection.ok()) return connection.status();
  if (absl::Status migrated = ApplyMigrations(**connection, EmbeddedMigrations());
      !migrated.ok()) {
    return migrated;
  }
  pool.MarkSchemaReady();
  return connection;
}

}  // namespace

int CreateAdminKeyCommand(const ServerConfig& config, const std::vector<std::string>& args) {
  std::string name = "admin";
  std::string token_file;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--name" && i + 1 < args.size()) {
      name = args[++i];
    } else if (args[i] == "--token-file" && i + 1 < args.size()) {
      token_file = args[++i];
    } else {
      return Fail("usage: pbx-server create-admin-key --token-file PATH [--name NAME]");
    }
  }
  if (token_file.empty()) return Fail("create-admin-key needs --token-file PATH");
  PgPool pool(config.database);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> connection = MigratedConnection(pool);
  if (!connection.ok()) return Fail(connection.status().message());
  PgApiKeyStore store(pool);
  KeyOperations keys(store);
  absl::StatusOr<std::optional<ApiKeyRecord>> created = BootstrapAdminKey(keys, token_file, name);
  if (!created.ok()) return Fail(created.status().message());
  if (!created->has_value()) {
    std::cout << "an admin key exists already; nothing created" << std::endl;
    return 0;
  }
  std::cout << "created admin key " << (*created)->name << " (" << (*created)->id
            << "); its token is in " << token_file << std::endl;
  return 0;
}

int RotateSecretsCommand(const ServerConfig& config, const std::vector<std::string>& args) {
  if (!args.empty()) return Fail("usage: pbx-server rotate-secrets");
  if (config.secret_key_file.empty()) return Fail("rotate-secrets needs PBX_SECRET_KEY_FILE");
  absl::StatusOr<SecretBox> secrets =
      SecretBox::FromKeyFiles(config.secret_key_file, config.previous_secret_key_file);
  if (!secrets.ok()) return Fail(secrets.status().message());
  PgPool pool(config.database);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> connection = MigratedConnection(pool);
  if (!connection.ok()) return Fail(connection.status().message());
  absl::StatusOr<int> resealed = ResealSipSecrets(**connection, *secrets);
  if (!resealed.ok()) return Fail(resealed.status().message());
  std::cout << "resealed " << *resealed << " SIP secrets under key " << secrets->current_key_id()
            << std::endl;
  return 0;
}

}  // namespace pbx
