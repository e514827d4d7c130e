#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "adapters/postgres/statements.h"

namespace walletd::pg {

// Whether `dsn` parses as a libpq connection string (key=value or URI). libpq's complaint about a
// malformed one quotes pieces of it, which may be a password: callers report only that it is bad.
bool ValidDsn(const std::string& dsn);

// Opens a non-blocking libpq connection before `deadline`; the caller owns it (PQfinish). Gives up
// early (UNAVAILABLE) once `*abandon` turns true. A connection not made before `deadline` is
// UNAVAILABLE/DATABASE_UNAVAILABLE: that the database did not answer in time says nothing about
// any caller's deadline.
absl::StatusOr<PGconn*> ConnectNonBlocking(const std::string& dsn, absl::Time deadline,
                                           const std::atomic<bool>* abandon = nullptr);
// Waits until the connection's socket is ready for `events`, at most until `deadline`.
absl::Status AwaitSocket(PGconn* conn, short events, absl::Time deadline);

// One libpq connection in non-blocking pipeline mode with every statement of the catalog
// prepared. Every wait is bounded by a deadline. Not thread-safe: one user at a time (the pool
// hands it out). A failed I/O leaves it broken(), and the pool drops it. A deadline that passes
// mid-round-trip leaves it pending(): the replies are still on the way, and Drain() reads them so
// that the connection can be used again (the server's statement_timeout, set from the same
// deadline, ends the statements themselves).
class Connection {
 public:
  // Connects, enters pipeline mode and prepares the catalog, all before `deadline`.
  // UNAVAILABLE/DATABASE_UNAVAILABLE or DEADLINE_EXCEEDED on failure.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& dsn, absl::Time deadline, const std::atomic<bool>* abandon = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `statements` followed by one Sync and reads every result: one round trip. On return
  // `results` holds the results that arrived, one per statement in order. A statement's SQL error
  // is in its result (and the statements after it come back PIPELINE_ABORTED); the returned status
  // is not OK only when the connection failed (UNAVAILABLE: broken() then) or the deadline passed
  // (DEADLINE_EXCEEDED: pending() then, or broken() if a previous round trip could not be
  // drained). `sent` (optional) tells whether any of the batch may have reached the server: false
  // when the connection was found dead first.
  absl::Status Pipeline(absl::Span<const Statement* const> statements, absl::Time deadline,
                        std::vector<Result>* results, bool* sent = nullptr);

  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  void MarkBroken() { broken_ = true; }

  // A round trip's replies are still on the way: its deadline passed first.
  bool pending() const { return pending_; }
  // Reads and discards the pending round trip's replies, up to its Sync, before `deadline`. OK
  // when the connection is usable again; otherwise it is broken.
  absl::Status Drain(absl::Time deadline);

  // Reads whatever the server sent while the connection sat idle, without waiting: false (and
  // broken) when the server has ended the session (a restart, a termination, an idle timeout).
  bool CheckAlive();
  // IDLE between transactions; INTRANS or INERROR inside one.
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(conn_); }

  // Round trips over all connections of this process.
  static int64_t RoundTrips() { return total_round_trips_.load(std::memory_order_relaxed); }

  // When the last round trip ended (or the connection opened).
  absl::Time idle_since() const { return idle_since_; }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  absl::Status Fail(absl::Status status);
  // A deadline leaves the connection pending, any other failure broken.
  absl::Status FailOrPend(absl::Status status);
  absl::Status Await(short events, absl::Time deadline);
  absl::Status Flush(absl::Time deadline);
  absl::Status NextResult(absl::Time deadline, PGresult** result);
  // Reads and discards results up to the next Sync's.
  absl::Status ReadUntilSync(absl::Time deadline);

  PGconn* conn_;
  bool broken_ = false;
  bool pending_ = false;
  absl::Time idle_since_ = absl::Now();
  static std::atomic<int64_t> total_round_trips_;
};

}  // namespace walletd::pg
