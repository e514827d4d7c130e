#include "adapters/postgres/migrator.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstdio>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "adapters/postgres/connection.h"
#include "adapters/postgres/errors.h"
#include "domain/status_macros.h"
#include "domain/text.h"

namespace walletd::pg {
namespace {

// pg_advisory_lock key shared by every walletd instance: "walletd" in ASCII.
constexpr int64_t kMigrationLockKey = 0x77616c6c657464;

// FNV-1a: a stable checksum of a migration's text, the same on every build.
std::string Checksum(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash));
  return out;
}

struct PGconnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};

// A plain (non-pipelined) session: migrations are multi-statement scripts.
class Session {
 public:
  Session(PGconn* conn, absl::Time deadline) : conn_(conn), deadline_(deadline) {}

  // Runs `sql` (one statement with `params`, or a script when there are none) and returns the
  // last result's rows as text.
  absl::StatusOr<std::vector<std::vector<std::string>>> Run(
      std::string_view sql, const std::vector<std::string>& params = {}) {
    const std::string text(sql);
    int sent = 0;
    if (params.empty()) {
      sent = PQsendQuery(conn_.get(), text.c_str());
    } else {
      std::vector<const char*> values;
      for (const std::string& p : params) values.push_back(p.c_str());
      sent = PQsendQueryParams(conn_.get(), text.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
    }
    if (sent != 1) return Unavailable("migrate", PQerrorMessage(conn_.get()));
    while (true) {
      const int rc = PQflush(conn_.get());
      if (rc == 0) break;
      if (rc < 0) return Unavailable("migrate", PQerrorMessage(conn_.get()));
      RETURN_IF_ERROR(AwaitSocket(conn_.get(), POLLOUT | POLLIN, deadline_));
      if (PQconsumeInput(conn_.get()) != 1) return Unavailable("migrate", PQerrorMessage(conn_.get()));
    }
    absl::Status error;
    std::vector<std::vector<std::string>> rows;
    while (true) {
      while (PQisBusy(conn_.get())) {
        RETURN_IF_ERROR(AwaitSocket(conn_.get(), POLLIN, deadline_));
        if (PQconsumeInput(conn_.get()) != 1) {
          return Unavailable("migrate", PQerrorMessage(conn_.get()));
        }
      }
      PGresult* r = PQgetResult(conn_.get());
      if (r == nullptr) break;
      Result result(r);
      if (result.failed() && error.ok()) {
        const ServerError e = ServerErrorOf(r);
        error = absl::Status(StatusOf(e).code(),
                             absl::StrCat(e.sqlstate, " ", e.message));
      }
      if (result.status() == PGRES_TUPLES_OK) {
        rows.clear();
        for (int i = 0; i < result.rows(); ++i) {
          std::vector<std::string> row;
          for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
          rows.push_back(std::move(row));
        }
      }
    }
    if (!error.ok()) return error;
    return rows;
  }

 private:
  std::unique_ptr<PGconn, PGconnDeleter> conn_;
  const absl::Time deadline_;
};

absl::Status Apply(Session& session, const Migration& m) {
  RETURN_IF_ERROR(session.Run("BEGIN").status());
  absl::Status status = session.Run(m.sql).status();
  if (status.ok()) {
    status = session
                 .Run("INSERT INTO walletd_schema_migrations (version, name, checksum) "
                      "VALUES ($1, $2, $3)",
                      {std::to_string(m.version), std::string(m.name), Checksum(m.sql)})
                 .status();
  }
  if (status.ok()) status = session.Run("COMMIT").status();
  if (!status.ok()) {
    (void)session.Run("ROLLBACK");
    return absl::Status(status.code(), absl::StrCat("migration ", m.version, " (", AsAbsl(m.name),
                                                    ") failed: ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Migrate(const std::string& dsn, absl::Span<const Migration> migrations,
                     absl::Time deadline, std::vector<int>* applied) {
  ASSIGN_OR_RETURN(PGconn* raw, ConnectNonBlocking(dsn, deadline));
  Session session(raw, deadline);
  // The server gives up a little before we do, so the lock wait never outlives the deadline.
  RETURN_IF_ERROR(session
                      .Run("SELECT set_config('statement_timeout', $1, false)",
                           {std::to_string(std::max<int64_t>(
                               1, absl::ToInt64Milliseconds(deadline - absl::Now())))})
                      .status());
  RETURN_IF_ERROR(
      session.Run("SELECT pg_advisory_lock($1)", {std::to_string(kMigrationLockKey)}).status());
  RETURN_IF_ERROR(session
                      .Run("CREATE TABLE IF NOT EXISTS walletd_schema_migrations ("
                           " version integer PRIMARY KEY,"
                           " name text NOT NULL,"
                           " checksum text NOT NULL,"
                           " applied_at timestamptz NOT NULL DEFAULT now())")
                      .status());
  ASSIGN_OR_RETURN(auto rows, session.Run("SELECT version, checksum FROM walletd_schema_migrations"));
  std::map<int, std::string> done;
  for (const auto& row : rows) done[std::stoi(row[0])] = row[1];
  for (const auto& [version, checksum] : done) {
    bool known = false;
    for (const Migration& m : migrations) known = known || m.version == version;
    if (!known) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database has migration ", version, ", which this walletd does not know: it is "
          "older than the schema"));
    }
  }
  for (const Migration& m : migrations) {
    auto it = done.find(m.version);
    if (it != done.end()) {
      if (it->second != Checksum(m.sql)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "migration ", m.version, " (", AsAbsl(m.name), ") changed after it was applied"));
      }
      continue;
    }
    RETURN_IF_ERROR(Apply(session, m));
    if (applied != nullptr) applied->push_back(m.version);
  }
  // Closing the session releases the advisory lock as well; unlock explicitly to be prompt.
  return session.Run("SELECT pg_advisory_unlock($1)", {std::to_string(kMigrationLockKey)}).status();
}

}  // namespace walletd::pg
