#pragma once

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "ports/context.h"

namespace walletd {

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
  Isolation isolation = Isolation::kReadCommitted;
  bool read_only = false;
};

/// Runs a closure inside one database transaction.
class Transactor {
 public:
  virtual ~Transactor() = default;

  /// Runs `fn(ctx)` inside one transaction and commits when it returns OK; any error, a cancelled
  /// call or a passed deadline rolls back instead. Repositories called with `ctx` inside `fn` run
  /// in that transaction. `fn` runs synchronously on the calling thread, is never stored, and may
  /// run more than once: an implementation may retry the whole closure after a transient conflict
  /// (serialization failure, deadlock, a connection lost before COMMIT), so `fn` must do nothing
  /// outside the database. A nested call joins the outer transaction; its options are ignored.
  ///
  /// Returns what `fn` returned, or: ABORTED/TRANSACTION_CONFLICT when conflicts outlast the
  /// retries; DEADLINE_EXCEEDED or CANCELLED; UNAVAILABLE/DATABASE_UNAVAILABLE when no connection
  /// can be had; UNAVAILABLE/COMMIT_OUTCOME_UNKNOWN when the connection broke during COMMIT (the
  /// caller may retry with the same request id); RESOURCE_EXHAUSTED/POOL_EXHAUSTED when no
  /// connection freed up in time. Errors that repositories defer to COMMIT come back here.
  virtual absl::Status WithinTransaction(Context& ctx, const TxOptions& options,
                                         absl::FunctionRef<absl::Status(Context&)> fn) = 0;
};

}  // namespace walletd
