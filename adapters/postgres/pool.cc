#include "adapters/postgres/pool.h"

#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"

#include "adapters/postgres/errors.h"
#include "domain/errors.h"
#include "domain/status_macros.h"

namespace walletd::pg {
namespace {

// Waiters wake at least this often to notice cancellation.
constexpr absl::Duration kWaitSlice = absl::Milliseconds(50);

absl::Status RoundTrip(Connection& conn, Sql sql, absl::Time deadline) {
  Statement statement{sql, {}};
  const Statement* batch[] = {&statement};
  std::vector<Result> results;
  RETURN_IF_ERROR(conn.Pipeline(batch, deadline, &results));
  if (results.size() != 1 || results[0].failed()) {
    return StatusOf(ServerErrorOf(results.empty() ? nullptr : results[0].get()));
  }
  return absl::OkStatus();
}

}  // namespace

Pool::Lease& Pool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (conn_) pool_->Release(std::move(conn_));
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
  }
  return *this;
}

Pool::Lease::~Lease() {
  if (conn_) pool_->Release(std::move(conn_));
}

Pool::Pool(PoolOptions options, Metrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {
  CHECK(options_.size_min >= 0 && options_.size_max >= 1 && options_.size_min <= options_.size_max);
  opener_ = std::thread([this] { OpenerLoop(); });
}

Pool::~Pool() { Close(); }

void Pool::StartMaintenance() {
  CHECK(!maintenance_.joinable());
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
}

void Pool::RequestOpenLocked() {
  if (closed_ || open_ >= options_.size_max || opening_ >= waiting_) return;
  ++open_;
  ++opening_;
  ++requested_;
  wake_opener_.notify_one();
}

absl::StatusOr<Pool::Lease> Pool::Acquire(const Context& ctx) {
  const absl::Time began = absl::Now();
  absl::StatusOr<Lease> lease = AcquireUntimed(ctx);
  metrics_.ConnectionAcquireWaited(absl::Now() - began);
  return lease;
}

absl::StatusOr<Pool::Lease> Pool::AcquireUntimed(const Context& ctx) {
  const absl::Time deadline = ctx.deadline();
  const absl::Time give_up = std::min(deadline, absl::Now() + options_.acquire_wait_max);
  std::unique_lock lock(mu_);
  // Connection attempts that ended before this caller came say nothing about its own.
  const int64_t attempts_seen = attempts_;
  bool counted = false;  // Among waiting_; changed only under mu_.
  absl::Cleanup uncount = [&] {  // Every return with `counted` set holds mu_.
    if (counted) --waiting_;
  };
  while (true) {
    if (closed_) return Unavailable("acquire", "the connection pool is closed");
    if (ctx.cancelled()) return ctx.Alive();
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (counted) {
        counted = false;
        --waiting_;
      }
      // Long idle, or idle since a sibling proved dead: the server or a proxy may have cut it
      // without a word, so a round trip checks it.
      const absl::Time now = absl::Now();
      const bool suspect = conn->idle_since() < suspect_before_ ||
                           now - conn->idle_since() > options_.idle_check_after;
      lock.unlock();
      if (!conn->CheckAlive() ||
          (suspect &&
           !RoundTrip(*conn, Sql::kPing, std::min(deadline, now + absl::Seconds(1))).ok())) {
        Drop(std::move(conn), /*lost=*/true);
        lock.lock();
        continue;
      }
      return Lease(this, std::move(conn));
    }
    if (!counted) {
      counted = true;
      ++waiting_;
    }
    // The attempt made since this caller came failed, and nothing else is free: the database
    // does not take connections now. Waiting on would only turn that into a timeout.
    if (attempts_ > attempts_seen && !last_attempt_.ok()) return last_attempt_;
    RequestOpenLocked();
    if (absl::Now() >= give_up) {
      ++counters_.exhausted;
      if (give_up == deadline) {
        return DomainError(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded,
                           "the deadline passed while waiting for a database connection");
      }
      if (failures_ > 0) return last_attempt_;
      return DomainError(absl::StatusCode::kResourceExhausted, reason::kPoolExhausted,
                         "no database connection became free in time");
    }
    const absl::Time wake = std::min(give_up, absl::Now() + kWaitSlice);
    freed_.wait_for(lock, absl::ToChronoNanoseconds(std::max(absl::ZeroDuration(), wake - absl::Now())));
  }
}

void Pool::OpenerLoop() {
  std::unique_lock lock(mu_);
  while (!closed_) {
    if (requested_ == 0) {
      wake_opener_.wait(lock);
      continue;
    }
    if (absl::Now() < next_attempt_) {
      wake_opener_.wait_for(lock, absl::ToChronoNanoseconds(next_attempt_ - absl::Now()));
      continue;
    }
    --requested_;
    lock.unlock();
    auto conn = Connection::Open(options_.dsn, absl::Now() + options_.connect_timeout, &closing_);
    lock.lock();
    ++attempts_;
    --opening_;
    if (conn.ok()) {
      ++counters_.opened;
      failures_ = 0;
      next_attempt_ = absl::InfinitePast();
      last_attempt_ = absl::OkStatus();
      last_healthy_ = absl::Now();
      if (!closed_) {
        idle_.push_back(*std::move(conn));
      } else {
        --open_;
      }
    } else {
      ++counters_.connect_failures;
      last_attempt_ = conn.status();
      absl::Duration backoff = options_.reconnect_backoff_min;
      for (int i = 1; i < failures_ && backoff < options_.reconnect_backoff_max; ++i) backoff *= 2;
      next_attempt_ = absl::Now() + std::min(backoff, options_.reconnect_backoff_max);
      ++failures_;
      // Requests queued behind a failed attempt would fail the same way: the callers still
      // waiting see this failure, and ask again if they wait on.
      --open_;
      open_ -= requested_;
      opening_ -= requested_;
      requested_ = 0;
    }
    freed_.notify_all();
  }
}

void Pool::Drop(std::unique_ptr<Connection> conn, bool lost) {
  {
    std::lock_guard lock(mu_);
    --open_;
    ++counters_.closed;
    if (lost) suspect_before_ = absl::Now();
    RequestOpenLocked();  // For a caller that waits.
  }
  freed_.notify_one();
  conn.reset();  // PQfinish outside the lock.
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  if (conn->pending()) {
    // Its caller's deadline passed mid-round-trip. The server's statement_timeout, set from that
    // deadline, ends the statements; reading their replies keeps the connection.
    if (conn->Drain(absl::Now() + options_.reset_timeout).ok()) {
      std::lock_guard lock(mu_);
      ++counters_.drained;
    }
  }
  if (!conn->broken() && conn->transaction_status() != PQTRANS_IDLE) {
    // Never keep a connection idle in a transaction: roll back, or close it if that fails.
    {
      std::lock_guard lock(mu_);
      ++counters_.resets;
    }
    const absl::Time give_up = absl::Now() + options_.reset_timeout;
    // The transaction's own statement_timeout can cancel a ROLLBACK; the next one then finds the
    // transaction aborted and ends it.
    constexpr int kRollbackAttemptsMax = 2;
    for (int i = 0; i < kRollbackAttemptsMax && !conn->broken() &&
                    conn->transaction_status() != PQTRANS_IDLE;
         ++i) {
      RoundTrip(*conn, Sql::kRollback, give_up).IgnoreError();
    }
    if (conn->pending() || conn->transaction_status() != PQTRANS_IDLE) conn->MarkBroken();
  }
  if (conn->broken()) {
    Drop(std::move(conn), /*lost=*/true);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      last_healthy_ = absl::Now();
      idle_.push_back(std::move(conn));
    }
  }
  if (conn) {
    Drop(std::move(conn), /*lost=*/false);  // The pool closed meanwhile.
    return;
  }
  freed_.notify_one();
}

absl::Status Pool::Ping(absl::Time deadline, absl::Duration fresh) {
  {
    std::lock_guard lock(mu_);
    if (absl::Now() - last_healthy_ < fresh) return absl::OkStatus();
  }
  // A pooled connection that proves dead says nothing of the database: one more on another.
  constexpr int kAttemptsMax = 2;
  absl::Status status;
  for (int attempt = 1; attempt <= kAttemptsMax; ++attempt) {
    Context ctx(deadline, "health");
    auto lease = Acquire(ctx);
    if (!lease.ok()) {
      std::lock_guard lock(mu_);
      const bool busy_but_healthy = lease.status().code() == absl::StatusCode::kResourceExhausted &&
                                    absl::Now() - last_healthy_ < absl::Seconds(5);
      return busy_but_healthy ? absl::OkStatus() : lease.status();
    }
    status = RoundTrip(**lease, Sql::kPing, deadline);
    if (status.code() != absl::StatusCode::kUnavailable) return status;
  }
  return status;
}

void Pool::Close() {
  {
    std::lock_guard lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_stop_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  closing_.store(true, std::memory_order_relaxed);
  std::vector<std::unique_ptr<Connection>> idle;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    idle.swap(idle_);
    open_ -= static_cast<int>(idle.size());
    counters_.closed += static_cast<int64_t>(idle.size());
    open_ -= requested_;
    opening_ -= requested_;
    requested_ = 0;
  }
  wake_opener_.notify_all();
  freed_.notify_all();
  if (opener_.joinable()) opener_.join();
}

Pool::Stats Pool::stats() const {
  std::lock_guard lock(mu_);
  Stats s = counters_;
  s.open = open_;
  s.idle = static_cast<int>(idle_.size());
  s.waiting = waiting_;
  return s;
}

void Pool::MaintenanceLoop() {
  std::unique_lock lock(maintenance_mu_);
  while (!stopping_) {
    lock.unlock();
    Maintain();
    lock.lock();
    maintenance_stop_.wait_for(lock, absl::ToChronoNanoseconds(options_.maintenance_interval),
                               [this] { return stopping_; });
  }
}

void Pool::Maintain() {
  std::vector<std::unique_ptr<Connection>> stale;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    // Top up to size_min through the opener, whose backoff spares a database that is down.
    if (open_ < options_.size_min && requested_ == 0) {
      const int missing = options_.size_min - open_;
      open_ += missing;
      opening_ += missing;
      requested_ += missing;
      wake_opener_.notify_one();
    }
    const absl::Time cutoff = absl::Now() - options_.idle_check_after;
    // Idle connections are ordered by last use; the oldest sit at the front.
    auto end = std::find_if(idle_.begin(), idle_.end(),
                            [&](const auto& c) { return c->idle_since() > cutoff; });
    std::move(idle_.begin(), end, std::back_inserter(stale));
    idle_.erase(idle_.begin(), end);
  }
  for (auto& conn : stale) {
    if (!RoundTrip(*conn, Sql::kPing, absl::Now() + absl::Seconds(1)).ok()) conn->MarkBroken();
    Release(std::move(conn));
  }
}

}  // namespace walletd::pg
