#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "adapters/postgres/pool.h"
#include "adapters/postgres/transaction.h"
#include "ports/metrics.h"
#include "ports/transactor.h"

namespace walletd::pg {

struct RetryOptions {
  // Runs of the closure per call, the first included.
  int attempts_max = 5;
  // Full-jitter exponential backoff: before run n+1 sleep uniform(0, min(max, base * 2^(n-1))).
  absl::Duration backoff_base = absl::Milliseconds(2);
  absl::Duration backoff_max = absl::Milliseconds(100);
};

// The Postgres Transactor: one connection and one transaction per call, carried in the Context.
// Retries the whole closure on serialization failure (40001), deadlock (40P01) and a connection
// lost before COMMIT, with full-jitter backoff, never past the caller's deadline. A nested call
// joins the outer transaction (no savepoint). Reports each transaction, retry and outcome to
// `metrics`, which must outlive it. Thread-safe.
class Transactor final : public walletd::Transactor {
 public:
  struct Stats {
    int64_t transactions = 0;  // Calls, nested ones excluded.
    int64_t commits = 0;
    int64_t retries = 0;       // Runs of a closure after the first.
    int64_t exhausted = 0;     // Calls that gave up on a retryable failure.
    int64_t outcome_unknown = 0;
  };

  Transactor(Pool& pool, const Timeouts& timeouts, const RetryOptions& retry,
             Metrics& metrics = NoMetrics())
      : pool_(pool), timeouts_(timeouts), retry_(retry), metrics_(metrics) {}

  absl::Status WithinTransaction(Context& ctx, const TxOptions& options,
                                 absl::FunctionRef<absl::Status(Context&)> fn) override;

  Stats stats() const;

 private:
  // WithinTransaction's retry loop; *attempts counts the runs begun.
  absl::Status RunWithRetries(Context& ctx, const TxOptions& options,
                              absl::FunctionRef<absl::Status(Context&)> fn, int* attempts);
  // One run; *retry_class is the failure's SQLSTATE class when it may run again, else empty.
  absl::Status RunOnce(Context& ctx, const TxOptions& options,
                       absl::FunctionRef<absl::Status(Context&)> fn,
                       std::string_view* retry_class);

  Pool& pool_;
  const Timeouts timeouts_;
  const RetryOptions retry_;
  Metrics& metrics_;
  std::atomic<int64_t> transactions_{0}, commits_{0}, retries_{0}, exhausted_{0},
      outcome_unknown_{0};
};

}  // namespace walletd::pg
