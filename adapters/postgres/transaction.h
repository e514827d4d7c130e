#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "adapters/postgres/errors.h"
#include "adapters/postgres/pool.h"
#include "adapters/postgres/statements.h"
#include "ports/context.h"
#include "ports/transactor.h"

namespace walletd::pg {

struct Timeouts {
  // The most a single statement may run, even for a caller with a distant deadline.
  absl::Duration statement_max = absl::Seconds(10);
  // The bound on a ROLLBACK, which runs even after the caller's deadline has passed.
  absl::Duration rollback = absl::Seconds(2);
};

// statement_timeout for what is left of `deadline`: a little less, so that the server gives up
// first and the connection stays usable; at least 1 ms; at most `cap`.
int64_t ServerTimeoutMs(absl::Time deadline, absl::Duration cap);

// What one statement's result says about its transaction.
struct Reply {
  bool failed = false;     // The statement failed (PGRES_FATAL_ERROR)...
  ServerError error;       // ...with this error.
  bool committed = false;  // A COMMIT whose command tag says it committed.
};
Reply ReplyOf(const Result& result);

// How a transaction stands after one round trip.
struct Verdict {
  enum class Retry { kNo, kConflict, kConnectionLost };
  absl::Status status;         // OK, or the failure that ends the transaction.
  Retry retry = Retry::kNo;    // Whether, and why, it may run again from the start.
  bool committed = false;      // COMMIT took effect.
};

// Decides a round trip from the replies that arrived (one per statement, in order; fewer when
// the connection failed), the round trip's I/O status, whether any of it may have reached the
// server, and COMMIT's place in the batch when it carried one. Pure, so that every case of what
// a lost connection means is tested on its own.
Verdict Judge(absl::Span<const Reply> replies, const absl::Status& io, bool sent,
              std::optional<size_t> commit_index);

// One database transaction on one leased connection, carried in the request Context while the
// closure runs. Move-free and single-threaded. Round trips are cut by pipelining: BEGIN and the
// timeouts travel with the first statement, and writes are held back (Defer) to travel with the
// next statement or with COMMIT. The destructor rolls back unless Commit() succeeded.
class Transaction final : public ContextSlot {
 public:
  Transaction(Pool::Lease lease, const TxOptions& options, const Timeouts& timeouts);
  ~Transaction() override;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Runs `statement` after everything held back, in one round trip, and returns its result.
  absl::StatusOr<Result> Query(const Context& ctx, Statement statement);
  // Holds a write back until the next round trip. Its SQL error surfaces there.
  absl::Status Defer(Statement statement);
  // Sends what is held back and COMMIT in one round trip. UNAVAILABLE (or DEADLINE_EXCEEDED) with
  // COMMIT_OUTCOME_UNKNOWN when the connection failed once COMMIT may have run but before its
  // reply arrived; OK when the reply arrived and the connection failed only after it.
  absl::Status Commit(const Context& ctx);
  // Rolls back if anything was begun; bounded by Timeouts::rollback. Idempotent.
  void Rollback();

  // Whether the failure that ended this transaction allows running it again from the start:
  // a serialization failure, a deadlock, or a connection lost before COMMIT could run.
  bool retryable() const { return retry_ != Verdict::Retry::kNo; }
  // That failure's SQLSTATE class: "40" for a conflict, "08" for a lost connection (which libpq
  // reports without a SQLSTATE of its own); empty when it is not retryable.
  std::string_view retry_class() const;

 private:
  enum class State { kNotStarted, kOpen, kFailed, kCommitted, kRolledBack };
  absl::StatusOr<Result> RoundTrip(const Context& ctx, Statement* last, bool commit);
  absl::Status Fail(absl::Status status, Verdict::Retry retry);

  Pool::Lease lease_;
  const TxOptions options_;
  const Timeouts timeouts_;
  State state_ = State::kNotStarted;
  std::vector<Statement> deferred_;
  Verdict::Retry retry_ = Verdict::Retry::kNo;
  absl::Status failure_;
};

// How repositories run statements: in the context's transaction when there is one, alone on a
// pooled connection otherwise. Thread-safe.
class Executor {
 public:
  Executor(Pool& pool, const Timeouts& timeouts) : pool_(pool), timeouts_(timeouts) {}

  // A read. Alone, it is tried once more on another connection when the first proved dead.
  absl::StatusOr<Result> Query(Context& ctx, Statement statement);
  // A write: held back in a transaction (its error then comes at the next round trip or COMMIT),
  // run at once alone, and then tried once more on another connection when the first proved dead
  // before the write could reach the server, or whenever the statement is replayable.
  absl::Status Write(Context& ctx, Statement statement);
  // The transaction carried by `ctx`, or nullptr.
  static Transaction* TransactionOf(const Context& ctx);

 private:
  absl::StatusOr<Result> RunAlone(Context& ctx, const Statement& statement);

  Pool& pool_;
  const Timeouts timeouts_;
};

}  // namespace walletd::pg
