#include "server/app/admin_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "server/core/sip_secret.h"
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

// Writes `content` to `path` with mode 0600: a temporary in the same
// directory, flushed, then renamed over it, so the file is never half-written
// nor readable by others for a moment.
absl::Status WritePrivateFile(const std::string& path, const std::string& content) {
  const std::string temporary = absl::StrCat(path, ".tmp-", RandomHex(6));
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot create ", temporary));
  const bool written = write(fd, content.data(), content.size()) ==
                           static_cast<ssize_t>(content.size()) &&
                       fsync(fd) == 0;
  close(fd);
  if (!written || rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
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
  absl::StatusOr<std::optional<CreatedApiKey>> created = keys.CreateFirstAdminKey(name);
  if (!created.ok()) return Fail(created.status().message());
  if (!created->has_value()) {
    std::cout << "an admin key exists already; nothing created" << std::endl;
    return 0;
  }
  if (absl::Status written = WritePrivateFile(token_file, (*created)->token + "\n");
      !written.ok()) {
    // The key exists but nobody has its token: revoke it, so the next run can
    // make another.
    (void)keys.RevokeKey((*created)->key.id);
    return Fail(written.message());
  }
  std::cout << "created admin key " << (*created)->key.name << " (" << (*created)->key.id
            << "); its token is in " << token_file << std::endl;
  return 0;
}

int RotateSecretsCommand(const ServerConfig& config, const std::vector<std::string>& args) {
  if (!args.empty()) return Fail("usage: pbx-server rotate-secrets");
  if (config.secret_key_file.empty()) return Fail("rotate-secrets needs PBX_SECRET_KEY_FILE");
  absl::StatusOr<std::string> current = SecretBox::ReadKeyFile(config.secret_key_file);
  if (!current.ok()) return Fail(current.status().message());
  std::optional<std::string> previous;
  if (!config.previous_secret_key_file.empty()) {
    absl::StatusOr<std::string> read = SecretBox::ReadKeyFile(config.previous_secret_key_file);
    if (!read.ok()) return Fail(read.status().message());
    previous = std::move(*read);
  }
  absl::StatusOr<SecretBox> secrets = SecretBox::FromKeys(std::move(*current), std::move(previous));
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
