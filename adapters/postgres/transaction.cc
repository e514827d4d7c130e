#include "adapters/postgres/transaction.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "adapters/postgres/errors.h"
#include "domain/errors.h"
#include "domain/status_macros.h"

namespace walletd::pg {
namespace {

// The server-side margin: the server's timeout fires this much before the caller's deadline.
constexpr absl::Duration kServerMarginMax = absl::Milliseconds(20);
// How much longer than the statement timeout a session may sit idle inside a transaction.
constexpr absl::Duration kIdleInTransactionMargin = absl::Seconds(2);
// A statement alone is tried on a second connection when the first proved dead (and the pool
// then checks the first one's idle siblings before handing them out).
constexpr int kAloneAttemptsMax = 2;

absl::Status CommitOutcomeUnknown(const absl::Status& cause) {
  const absl::StatusCode code = cause.code() == absl::StatusCode::kDeadlineExceeded
                                    ? absl::StatusCode::kDeadlineExceeded
                                    : absl::StatusCode::kUnavailable;
  return WithDetail(DomainError(code, reason::kCommitOutcomeUnknown,
                                "the connection failed during COMMIT, so it may or may not have "
                                "taken effect; retry with the same request id"),
                    LogText(cause));
}

}  // namespace

Reply ReplyOf(const Result& result) {
  Reply reply;
  reply.failed = result.status() == PGRES_FATAL_ERROR;
  if (reply.failed) reply.error = ServerErrorOf(result.get());
  reply.committed = result.status() == PGRES_COMMAND_OK && result.CommandTag() == "COMMIT";
  return reply;
}

Verdict Judge(absl::Span<const Reply> replies, const absl::Status& io, bool sent,
              std::optional<size_t> commit_index) {
  using Retry = Verdict::Retry;
  // The first statement error decides: everything after it was skipped.
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].failed) continue;
    absl::Status status = StatusOf(replies[i].error);
    const bool lost = status.code() == absl::StatusCode::kUnavailable;
    if (i == commit_index && lost) return {CommitOutcomeUnknown(status), Retry::kNo};
    if (IsRetryable(replies[i].error.sqlstate)) return {std::move(status), Retry::kConflict};
    return {std::move(status), lost ? Retry::kConnectionLost : Retry::kNo};
  }
  // COMMIT's own reply decides, whatever happened to the Sync behind it: the connection is broken
  // (and will be dropped) but the transaction committed.
  if (commit_index.has_value() && *commit_index < replies.size()) {
    if (!replies[*commit_index].committed) {
      return {absl::InternalError("COMMIT rolled back without an error"), Retry::kNo};
    }
    return {absl::OkStatus(), Retry::kNo, /*committed=*/true};
  }
  if (!io.ok()) {
    if (commit_index.has_value() && sent) return {CommitOutcomeUnknown(io), Retry::kNo};
    const bool lost = io.code() == absl::StatusCode::kUnavailable;
    return {io, lost ? Retry::kConnectionLost : Retry::kNo};
  }
  CHECK(!commit_index.has_value());  // A round trip that read every reply has COMMIT's.
  return {};
}

int64_t ServerTimeoutMs(absl::Time deadline, absl::Duration cap) {
  absl::Duration left = deadline - absl::Now();
  left -= std::min(left / 10, kServerMarginMax);
  left = std::min(left, cap);
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(left));
}

Transaction::Transaction(Pool::Lease lease, const TxOptions& options, const Timeouts& timeouts)
    : lease_(std::move(lease)), options_(options), timeouts_(timeouts) {}

Transaction::~Transaction() { Rollback(); }

absl::Status Transaction::Fail(absl::Status status, Verdict::Retry retry) {
  state_ = State::kFailed;
  failure_ = status;
  retry_ = retry;
  return status;
}

std::string_view Transaction::retry_class() const {
  switch (retry_) {
    case Verdict::Retry::kConflict:
      return "40";  // IsRetryable: 40001 and 40P01 only.
    case Verdict::Retry::kConnectionLost:
      return "08";
    case Verdict::Retry::kNo:
      break;
  }
  return "";
}

absl::StatusOr<Result> Transaction::RoundTrip(const Context& ctx, Statement* last, bool commit) {
  if (state_ == State::kFailed) return failure_;
  CHECK(state_ == State::kNotStarted || state_ == State::kOpen);
  std::vector<const Statement*> batch;
  Statement begin{BeginFor(options_), {}};
  Statement timeouts{Sql::kSetTransactionTimeouts, {}};
  if (state_ == State::kNotStarted) {
    const int64_t statement_ms = ServerTimeoutMs(ctx.deadline(), timeouts_.statement_max);
    // The idle timeout is a backstop for a stuck process, not a second deadline: with a margin,
    // walletd's own rollback comes first and a busy moment between round trips kills nothing.
    const int64_t idle_ms = statement_ms + absl::ToInt64Milliseconds(kIdleInTransactionMargin);
    timeouts.params.Text(std::to_string(statement_ms)).Text(std::to_string(idle_ms));
    batch.push_back(&begin);
    batch.push_back(&timeouts);
  }
  for (const Statement& write : deferred_) batch.push_back(&write);
  const size_t last_index = batch.size();
  if (last != nullptr) batch.push_back(last);
  const size_t commit_index = batch.size();
  Statement commit_statement{Sql::kCommit, {}};
  if (commit) batch.push_back(&commit_statement);

  std::vector<Result> results;
  bool sent = false;
  const absl::Status io = lease_->Pipeline(batch, ctx.deadline(), &results, &sent);
  state_ = State::kOpen;
  deferred_.clear();
  std::vector<Reply> replies;
  replies.reserve(results.size());
  for (const Result& result : results) replies.push_back(ReplyOf(result));
  Verdict verdict = Judge(replies, io, sent, commit ? std::optional(commit_index) : std::nullopt);
  if (!verdict.status.ok()) {
    return Fail(std::move(verdict.status), verdict.retry);
  }
  if (commit) {
    state_ = State::kCommitted;
    return Result();
  }
  return std::move(results[last_index]);
}

absl::StatusOr<Result> Transaction::Query(const Context& ctx, Statement statement) {
  return RoundTrip(ctx, &statement, /*commit=*/false);
}

absl::Status Transaction::Defer(Statement statement) {
  if (state_ == State::kFailed) return failure_;
  CHECK(state_ == State::kNotStarted || state_ == State::kOpen);
  if (deferred_.empty() || !Pair(deferred_.back(), std::move(statement))) {
    deferred_.push_back(std::move(statement));
  }
  return absl::OkStatus();
}

absl::Status Transaction::Commit(const Context& ctx) {
  if (state_ == State::kFailed) return failure_;
  if (state_ == State::kNotStarted && deferred_.empty()) {
    state_ = State::kCommitted;  // Nothing was ever sent: nothing to commit.
    return absl::OkStatus();
  }
  return RoundTrip(ctx, nullptr, /*commit=*/true).status();
}

void Transaction::Rollback() {
  deferred_.clear();
  if (state_ != State::kOpen && state_ != State::kFailed) return;
  state_ = State::kRolledBack;
  if (lease_->broken()) return;  // The server rolls back a transaction whose connection closed.
  // A deadline passed mid-round-trip: the pool reads the replies when the lease comes back, and
  // rolls back whatever is still open then.
  if (lease_->pending()) return;
  // A COMMIT that failed (say, a serialization failure at commit) has already ended it.
  if (lease_->transaction_status() == PQTRANS_IDLE) return;
  Statement rollback{Sql::kRollback, {}};
  const Statement* batch[] = {&rollback};
  std::vector<Result> results;
  // A statement_timeout set by the transaction can cancel the ROLLBACK itself. Then the pool
  // rolls back again when the lease comes back, and closes the connection if that fails too.
  lease_->Pipeline(batch, absl::Now() + timeouts_.rollback, &results).IgnoreError();
}

Transaction* Executor::TransactionOf(const Context& ctx) {
  return dynamic_cast<Transaction*>(ctx.slot());
}

absl::StatusOr<Result> Executor::Query(Context& ctx, Statement statement) {
  if (Transaction* tx = TransactionOf(ctx)) return tx->Query(ctx, std::move(statement));
  return RunAlone(ctx, statement);
}

absl::Status Executor::Write(Context& ctx, Statement statement) {
  if (Transaction* tx = TransactionOf(ctx)) return tx->Defer(std::move(statement));
  return RunAlone(ctx, statement).status();
}

absl::StatusOr<Result> Executor::RunAlone(Context& ctx, const Statement& statement) {
  absl::Status last;
  for (int attempt = 1; attempt <= kAloneAttemptsMax; ++attempt) {
    RETURN_IF_ERROR(ctx.Alive());
    ASSIGN_OR_RETURN(Pool::Lease lease, pool_.Acquire(ctx));
    // The timeout is local to the implicit transaction that the pipeline's Sync closes.
    Statement timeout{Sql::kSetStatementTimeout, {}};
    timeout.params.Text(std::to_string(ServerTimeoutMs(ctx.deadline(), timeouts_.statement_max)));
    const Statement* batch[] = {&timeout, &statement};
    std::vector<Result> results;
    bool sent = false;
    const absl::Status io = lease->Pipeline(batch, ctx.deadline(), &results, &sent);
    last = io;
    bool lost = !io.ok() && io.code() == absl::StatusCode::kUnavailable;
    for (const Result& result : results) {
      if (result.status() == PGRES_FATAL_ERROR) {
        last = StatusOf(ServerErrorOf(result.get()));
        lost = last.code() == absl::StatusCode::kUnavailable;
        break;
      }
    }
    if (last.ok()) return std::move(results[1]);
    // Only a lost connection is worth another try: always when nothing reached the server, and
    // otherwise when running the statement twice has the effect of running it once.
    if (!lost || (sent && !Replayable(statement.sql))) return last;
    lease->MarkBroken();
  }
  return last;
}

}  // namespace walletd::pg
