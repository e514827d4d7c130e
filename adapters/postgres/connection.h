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

// Opens a non-blocking libpq connection before `deadline`; the caller owns it (PQfinish).
absl::StatusOr<PGconn*> ConnectNonBlocking(const std::string& dsn, absl::Time deadline);
// Waits until the connection's socket is ready for `events`, at most until `deadline`.
absl::Status AwaitSocket(PGconn* conn, short events, absl::Time deadline);

// One libpq connection in non-blocking pipeline mode with every statement of the catalog
// prepared. Every wait is bounded by a deadline. Not thread-safe: one user at a time (the pool
// hands it out). A failed I/O or a passed deadline leaves it broken(), and the pool drops it.
class Connection {
 public:
  // Connects, enters pipeline mode and prepares the catalog, all before `deadline`.
  // UNAVAILABLE/DATABASE_UNAVAILABLE or DEADLINE_EXCEEDED on failure.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& dsn,
                                                          absl::Time deadline);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `statements` followed by one Sync and reads every result: one round trip. On return
  // `results` holds the results that arrived, one per statement in order. A statement's SQL error
  // is in its result (and the statements after it come back PIPELINE_ABORTED); the returned status
  // is not OK only when the connection failed (UNAVAILABLE) or the deadline passed
  // (DEADLINE_EXCEEDED), and the connection is broken then. `sent` (optional) tells whether any
  // of the batch may have reached the server: false when the connection was found dead first.
  absl::Status Pipeline(absl::Span<const Statement* const> statements, absl::Time deadline,
                        std::vector<Result>* results, bool* sent = nullptr);

  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  void MarkBroken() { broken_ = true; }
  // IDLE between transactions; INTRANS or INERROR inside one.
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(conn_); }

  // Round trips over all connections of this process.
  static int64_t RoundTrips() { return total_round_trips_.load(std::memory_order_relaxed); }

  // When the last round trip ended (or the connection opened).
  absl::Time idle_since() const { return idle_since_; }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  absl::Status Fail(absl::Status status);
  absl::Status Await(short events, absl::Time deadline);
  absl::Status Flush(absl::Time deadline);
  absl::Status NextResult(absl::Time deadline, PGresult** result);

  PGconn* conn_;
  bool broken_ = false;
  absl::Time idle_since_ = absl::Now();
  static std::atomic<int64_t> total_round_trips_;
};

}  // namespace walletd::pg
