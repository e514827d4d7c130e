#pragma once
// What walletd counts, as the code that counts sees it: one call per event. Which system keeps
// the numbers (adapters/prometheus/, or none) is the composition root's choice, so the adapters
// that report events depend on this port alone.

#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace walletd {

// How a transaction ended.
enum class TxOutcome {
  kCommitted,
  kRolledBack,      // Any error, the closure's own included: nothing took effect.
  kOutcomeUnknown,  // The connection failed during COMMIT (COMMIT_OUTCOME_UNKNOWN).
};

// Why admission control answered a call without running it.
enum class Refusal {
  kQueueFull,      // Every worker busy and queued_max calls waiting already.
  kWaitedTooLong,  // Overloaded, and it waited too large a share of its deadline.
  kEvicted,        // Overloaded, and pushed out of a full queue by a newer call.
  kUnmeetable,     // Less of its deadline was left than a call takes now.
};

/// Receives what walletd counts. Implementations are thread-safe, cheap (they run on the calling
/// thread, on every call) and never fail visibly. Every string argument comes from a small fixed
/// set (method names, reasons from domain/errors.h, SQLSTATE classes): never ids, peers or
/// tokens, so that an implementation may use them as labels.
class Metrics {
 public:
  virtual ~Metrics() = default;

  /// A call was answered: its method, the code and reason it was answered with (reason empty
  /// when OK), and the time from its arrival to its answer, queueing included.
  virtual void CallFinished(std::string_view method, absl::StatusCode code,
                            std::string_view reason, absl::Duration duration) = 0;
  /// Admission control answered a call without running it (CallFinished follows).
  virtual void CallRefused(std::string_view method, Refusal why) = 0;

  /// A transaction began (a nested one, which joins its outer transaction, is none).
  virtual void TransactionBegun() = 0;
  /// A transaction runs again after a transient failure of this SQLSTATE class: "40"
  /// (serialization failure, deadlock) or "08" (connection lost before COMMIT).
  virtual void TransactionRetried(std::string_view sqlstate_class) = 0;
  /// A transaction ended, after `attempts` runs of its closure (at least 1; 0 when it failed
  /// before the first run, say on a deadline already passed).
  virtual void TransactionFinished(TxOutcome outcome, int attempts) = 0;

  /// A caller waited `waited` for a pooled connection, whether it got one or not.
  virtual void ConnectionAcquireWaited(absl::Duration waited) = 0;
};

/// A Metrics that keeps nothing: what every adapter reports to unless given another, so that
/// tests and tools need none. Lives as long as the process.
Metrics& NoMetrics();

}  // namespace walletd
