#include "adapters/postgres/transactor.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "domain/errors.h"
#include "domain/status_macros.h"

namespace walletd::pg {
namespace {

absl::Duration Backoff(const RetryOptions& retry, int failed_attempts) {
  thread_local absl::BitGen bits;
  absl::Duration ceiling = retry.backoff_base;
  for (int i = 1; i < failed_attempts && ceiling < retry.backoff_max; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, retry.backoff_max);
  return absl::Microseconds(absl::Uniform<int64_t>(bits, 0, absl::ToInt64Microseconds(ceiling) + 1));
}

}  // namespace

absl::Status Transactor::WithinTransaction(Context& ctx, const TxOptions& options,
                                           absl::FunctionRef<absl::Status(Context&)> fn) {
  if (Executor::TransactionOf(ctx) != nullptr) return fn(ctx);  // Join the outer transaction.
  transactions_.fetch_add(1, std::memory_order_relaxed);
  metrics_.TransactionBegun();
  int attempts = 0;
  const absl::Status status = RunWithRetries(ctx, options, fn, &attempts);
  const TxOutcome outcome = status.ok() ? TxOutcome::kCommitted
                            : HasReason(status, reason::kCommitOutcomeUnknown)
                                ? TxOutcome::kOutcomeUnknown
                                : TxOutcome::kRolledBack;
  metrics_.TransactionFinished(outcome, attempts);
  return status;
}

absl::Status Transactor::RunWithRetries(Context& ctx, const TxOptions& options,
                                        absl::FunctionRef<absl::Status(Context&)> fn,
                                        int* attempts) {
  absl::Status status;
  for (int attempt = 1;; ++attempt) {
    RETURN_IF_ERROR(ctx.Alive());
    std::string_view retry_class;
    *attempts = attempt;
    status = RunOnce(ctx, options, fn, &retry_class);
    if (HasReason(status, reason::kCommitOutcomeUnknown)) {
      outcome_unknown_.fetch_add(1, std::memory_order_relaxed);
    }
    if (status.ok()) {
      commits_.fetch_add(1, std::memory_order_relaxed);
      return status;
    }
    if (retry_class.empty()) return status;
    const absl::Duration pause = Backoff(retry_, attempt);
    if (absl::Now() + pause >= ctx.deadline()) {
      // The caller's time is up: that, not the last transient failure, is the answer.
      exhausted_.fetch_add(1, std::memory_order_relaxed);
      return WithDetail(DomainError(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded,
                                    absl::StrCat("the deadline left no time to retry after: ",
                                                 status.message())),
                        DetailOf(status));
    }
    if (attempt >= retry_.attempts_max) break;
    retries_.fetch_add(1, std::memory_order_relaxed);
    metrics_.TransactionRetried(retry_class);
    absl::SleepFor(pause);
  }
  exhausted_.fetch_add(1, std::memory_order_relaxed);
  if (status.code() == absl::StatusCode::kUnavailable) return status;  // The database is gone.
  return WithDetail(DomainError(absl::StatusCode::kAborted, reason::kTransactionConflict,
                                "gave up after conflicting with concurrent transactions; retry "
                                "with the same request id"),
                    LogText(status));
}

absl::Status Transactor::RunOnce(Context& ctx, const TxOptions& options,
                                 absl::FunctionRef<absl::Status(Context&)> fn,
                                 std::string_view* retry_class) {
  ASSIGN_OR_RETURN(Pool::Lease lease, pool_.Acquire(ctx));
  Transaction tx(std::move(lease), options, timeouts_);
  ctx.set_slot(&tx);
  absl::Cleanup leave = [&ctx] { ctx.set_slot(nullptr); };
  absl::Status status = fn(ctx);
  std::move(leave).Invoke();
  if (status.ok()) status = ctx.Alive();  // A deadline that passed in the closure forbids COMMIT.
  if (status.ok()) status = tx.Commit(ctx);
  if (!status.ok() && tx.retryable()) *retry_class = tx.retry_class();
  if (!status.ok()) tx.Rollback();
  return status;
}

Transactor::Stats Transactor::stats() const {
  Stats s;
  s.transactions = transactions_.load(std::memory_order_relaxed);
  s.commits = commits_.load(std::memory_order_relaxed);
  s.retries = retries_.load(std::memory_order_relaxed);
  s.exhausted = exhausted_.load(std::memory_order_relaxed);
  s.outcome_unknown = outcome_unknown_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace walletd::pg
