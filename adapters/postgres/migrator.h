#pragma once
// Schema migrations: the SQL files of deploy/migrations, compiled into the binary, applied in
// order, each once, recorded in walletd_schema_migrations with a checksum.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace walletd::pg {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The migrations built into this binary, in ascending version order.
absl::Span<const Migration> EmbeddedMigrations();

// Applies the pending migrations of `migrations` in the schema the DSN's search_path selects,
// before `deadline`. Safe when several processes start together: they queue on an advisory lock,
// and each migration runs in its own transaction with its record. FAILED_PRECONDITION when an
// applied migration's text has changed since, or the database holds a version this binary does
// not know. `applied` (optional) receives the versions applied now.
absl::Status Migrate(const std::string& dsn, absl::Span<const Migration> migrations,
                     absl::Time deadline, std::vector<int>* applied = nullptr);

}  // namespace walletd::pg
