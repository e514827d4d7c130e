#include "adapters/postgres/connection.h"

#include <poll.h>

#include <cerrno>
#include <climits>

#include "absl/strings/str_cat.h"
#include "adapters/postgres/errors.h"
#include "domain/errors.h"
#include "domain/status_macros.h"
#include "domain/text.h"

namespace walletd::pg {

std::atomic<int64_t> Connection::total_round_trips_{0};

namespace {

absl::Status DeadlineExceeded(std::string_view what) {
  return DomainError(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded,
                     absl::StrCat("deadline passed while ", AsAbsl(what)));
}

// Waits until `fd` is ready for `events`, at most until `deadline`, and no longer than it takes to
// notice `*abandon` turning true.
absl::Status PollUntil(int fd, short events, absl::Time deadline, std::string_view what,
                       const std::atomic<bool>* abandon = nullptr) {
  constexpr absl::Duration kAbandonSlice = absl::Milliseconds(50);
  while (true) {
    if (abandon != nullptr && abandon->load(std::memory_order_relaxed)) {
      return Unavailable(what, "abandoned: the pool is closing");
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return DeadlineExceeded(what);
    if (abandon != nullptr) left = std::min(left, kAbandonSlice);
    const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
    pollfd p{fd, events, 0};
    const int rc = poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, INT_MAX)));
    if (rc > 0) return absl::OkStatus();
    if (rc < 0 && errno != EINTR) return Unavailable(what, strerror(errno));
  }
}

// A statement of ours yields one result; the bound keeps a confused stream from looping forever.
constexpr int kExtraResultsMax = 4;
// The most results a drain reads before it gives up on the stream (ours are a few per round trip).
constexpr int kDrainResultsMax = 4096;

}  // namespace

bool ValidDsn(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return false;
  PQconninfoFree(options);
  return true;
}

absl::StatusOr<PGconn*> ConnectNonBlocking(const std::string& dsn, absl::Time deadline,
                                           const std::atomic<bool>* abandon) {
  // UTF8 whatever the database's encoding: server messages reach logs that must stay valid JSON.
  // Given after the DSN, it wins over a client_encoding the DSN names.
  const char* keys[] = {"dbname", "fallback_application_name", "client_encoding", nullptr};
  const char* values[] = {dsn.c_str(), "walletd", "UTF8", nullptr};
  PGconn* conn = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("connect", "out of memory");
  auto fail = [conn](absl::Status status) {
    PQfinish(conn);
    return status;
  };
  if (PQstatus(conn) == CONNECTION_BAD) {
    // libpq's words on a malformed string quote it, password and all: they stay out of the log.
    return fail(Unavailable("connect", ValidDsn(dsn) ? PQerrorMessage(conn)
                                                     : "the connection string is malformed"));
  }
  // PQconnectPoll starts as if it had answered WRITING.
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) return fail(Unavailable("connect", PQerrorMessage(conn)));
    const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (absl::Status s = PollUntil(PQsocket(conn), events, deadline, "connecting", abandon);
        !s.ok()) {
      // The database not answering in time is the database's unavailability, not a deadline.
      if (s.code() == absl::StatusCode::kDeadlineExceeded) {
        return fail(Unavailable("connect", "no answer within the connect timeout"));
      }
      return fail(s);
    }
    state = PQconnectPoll(conn);
  }
  if (PQsetnonblocking(conn, 1) != 0) return fail(Unavailable("connect", PQerrorMessage(conn)));
  // Server notices are for humans at a psql prompt; libpq would print them on stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return conn;
}

absl::Status AwaitSocket(PGconn* conn, short events, absl::Time deadline) {
  return PollUntil(PQsocket(conn), events, deadline, "waiting for the database");
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& dsn,
                                                             absl::Time deadline,
                                                             const std::atomic<bool>* abandon) {
  ASSIGN_OR_RETURN(PGconn* raw, ConnectNonBlocking(dsn, deadline, abandon));
  std::unique_ptr<Connection> conn(new Connection(raw));
  if (PQenterPipelineMode(raw) != 1) {
    return Unavailable("pipeline mode", PQerrorMessage(raw));
  }
  // Session settings and the whole catalog in one round trip. Every statement of ours is a key
  // lookup whose best plan does not depend on the values bound; left to choose, PostgreSQL plans
  // `= ANY($1)` afresh on every run, which cost the database about 7 % of its CPU per transfer.
  if (PQsendQueryParams(raw, "SELECT set_config('plan_cache_mode', 'force_generic_plan', false)", 0,
                        nullptr, nullptr, nullptr, nullptr, 0) != 1) {
    return Unavailable("session settings", PQerrorMessage(raw));
  }
  for (int i = 0; i < static_cast<int>(Sql::kCount); ++i) {
    const SqlDef& def = Definition(static_cast<Sql>(i));
    if (PQsendPrepare(raw, def.name, def.text, 0, nullptr) != 1) {
      return Unavailable("prepare", PQerrorMessage(raw));
    }
  }
  if (PQpipelineSync(raw) != 1) return Unavailable("prepare", PQerrorMessage(raw));
  RETURN_IF_ERROR(conn->Flush(deadline));
  // The settings' result first, then one per prepared statement, then the sync.
  for (int i = -1; i <= static_cast<int>(Sql::kCount); ++i) {
    PGresult* r = nullptr;
    RETURN_IF_ERROR(conn->NextResult(deadline, &r));
    Result result(r);
    const bool is_sync = i == static_cast<int>(Sql::kCount);
    if (is_sync ? result.status() != PGRES_PIPELINE_SYNC : result.failed()) {
      // A statement that does not prepare is a schema that is missing or older than this build.
      return StatusOf(ServerErrorOf(result.get()));
    }
    if (!is_sync) {
      PGresult* separator = nullptr;
      RETURN_IF_ERROR(conn->NextResult(deadline, &separator));
      if (separator != nullptr) {
        PQclear(separator);
        return absl::InternalError("unexpected extra result while preparing");
      }
    }
  }
  return conn;
}

Connection::~Connection() { PQfinish(conn_); }

absl::Status Connection::Fail(absl::Status status) {
  broken_ = true;
  return status;
}

absl::Status Connection::FailOrPend(absl::Status status) {
  if (status.code() != absl::StatusCode::kDeadlineExceeded) return Fail(std::move(status));
  pending_ = true;
  return status;
}

absl::Status Connection::Await(short events, absl::Time deadline) {
  return AwaitSocket(conn_, events, deadline);
}

absl::Status Connection::Flush(absl::Time deadline) {
  while (true) {
    const int rc = PQflush(conn_);
    if (rc == 0) return absl::OkStatus();
    if (rc < 0) return Fail(Unavailable("send", PQerrorMessage(conn_)));
    // Read while waiting to write: the server may block on a full output buffer otherwise.
    if (absl::Status s = Await(POLLIN | POLLOUT, deadline); !s.ok()) return FailOrPend(s);
    if (PQconsumeInput(conn_) != 1) return Fail(Unavailable("receive", PQerrorMessage(conn_)));
  }
}

absl::Status Connection::NextResult(absl::Time deadline, PGresult** result) {
  while (PQisBusy(conn_)) {
    if (absl::Status s = Await(POLLIN, deadline); !s.ok()) return FailOrPend(s);
    if (PQconsumeInput(conn_) != 1) return Fail(Unavailable("receive", PQerrorMessage(conn_)));
  }
  *result = PQgetResult(conn_);
  return absl::OkStatus();
}

absl::Status Connection::Pipeline(absl::Span<const Statement* const> statements,
                                  absl::Time deadline, std::vector<Result>* results, bool* sent) {
  results->clear();
  if (sent != nullptr) *sent = false;
  if (pending_) RETURN_IF_ERROR(Drain(deadline));
  // Read what arrived while idle: a server that ended the session (restart, termination, idle
  // timeout) has said so already, and then nothing of this batch can have run.
  if (!broken() && PQconsumeInput(conn_) != 1) MarkBroken();
  if (broken()) return Fail(Unavailable("send", "the connection is closed"));
  if (sent != nullptr) *sent = true;
  for (const Statement* statement : statements) {
    const SqlDef& def = Definition(statement->sql);
    const Params::Wire wire = statement->params.ToWire();
    if (PQsendQueryPrepared(conn_, def.name, statement->params.size(),
                            wire.values.data(), wire.lengths.data(), wire.formats.data(),
                            /*resultFormat=*/1) != 1) {
      return Fail(Unavailable("send", PQerrorMessage(conn_)));
    }
  }
  if (PQpipelineSync(conn_) != 1) return Fail(Unavailable("send", PQerrorMessage(conn_)));
  total_round_trips_.fetch_add(1, std::memory_order_relaxed);
  RETURN_IF_ERROR(Flush(deadline));
  for (size_t i = 0; i < statements.size(); ++i) {
    PGresult* first = nullptr;
    RETURN_IF_ERROR(NextResult(deadline, &first));
    Result result(first);
    if (PQstatus(conn_) == CONNECTION_BAD) {
      if (!result.empty()) results->push_back(std::move(result));
      return Fail(Unavailable("receive", PQerrorMessage(conn_)));
    }
    // Each statement's results end with a null; walletd's statements yield exactly one.
    PGresult* extra = nullptr;
    int extras = 0;
    do {
      RETURN_IF_ERROR(NextResult(deadline, &extra));
      if (extra != nullptr) PQclear(extra);
    } while (extra != nullptr && PQstatus(conn_) != CONNECTION_BAD && ++extras < kExtraResultsMax);
    results->push_back(std::move(result));
    if (PQstatus(conn_) == CONNECTION_BAD) {
      return Fail(Unavailable("receive", PQerrorMessage(conn_)));
    }
  }
  PGresult* sync = nullptr;
  RETURN_IF_ERROR(NextResult(deadline, &sync));
  Result sync_result(sync);
  if (sync_result.status() == PGRES_FATAL_ERROR && PQstatus(conn_) == CONNECTION_OK) {
    // An error after the last statement's reply, before the Sync's: statement_timeout spans the
    // whole pipeline up to its Sync, so it can fire there. It ends the transaction, not the
    // connection; the Sync's reply follows.
    absl::Status late = StatusOf(ServerErrorOf(sync_result.get()));
    RETURN_IF_ERROR(ReadUntilSync(deadline));
    idle_since_ = absl::Now();
    return late;
  }
  if (sync_result.status() != PGRES_PIPELINE_SYNC) {
    return Fail(Unavailable("receive", sync_result.empty() ? PQerrorMessage(conn_)
                                                           : PQresultErrorMessage(sync)));
  }
  idle_since_ = absl::Now();
  return absl::OkStatus();
}

absl::Status Connection::Drain(absl::Time deadline) {
  if (!pending_) return absl::OkStatus();
  pending_ = false;  // A deadline below breaks the connection rather than leaving it pending.
  absl::Status status = Flush(deadline);
  if (status.ok()) status = ReadUntilSync(deadline);
  if (!status.ok()) {
    pending_ = false;
    return Fail(std::move(status));
  }
  idle_since_ = absl::Now();
  return absl::OkStatus();
}

absl::Status Connection::ReadUntilSync(absl::Time deadline) {
  for (int i = 0; i < kDrainResultsMax; ++i) {
    PGresult* raw = nullptr;
    RETURN_IF_ERROR(NextResult(deadline, &raw));
    Result result(raw);
    if (PQstatus(conn_) == CONNECTION_BAD) return Fail(Unavailable("receive", PQerrorMessage(conn_)));
    if (result.status() == PGRES_PIPELINE_SYNC) return absl::OkStatus();
  }
  return Fail(Unavailable("receive", "the server sent more results than were asked for"));
}

bool Connection::CheckAlive() {
  if (broken() || pending_) return false;
  if (PQconsumeInput(conn_) != 1 || PQstatus(conn_) != CONNECTION_OK) {
    MarkBroken();
    return false;
  }
  return true;
}

}  // namespace walletd::pg
