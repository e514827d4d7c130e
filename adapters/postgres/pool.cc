#include "adapters/postgres/pool.h"

#include <algorithm>
#include <utility>

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

Pool::Pool(PoolOptions options) : options_(std::move(options)) {
  CHECK(options_.size_min >= 0 && options_.size_max >= 1 && options_.size_min <= options_.size_max);
}

Pool::~Pool() { Close(); }

void Pool::StartMaintenance() {
  CHECK(!maintenance_.joinable());
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
}

absl::StatusOr<Pool::Lease> Pool::Open(absl::Time deadline) {
  auto conn = Connection::Open(options_.dsn,
                               std::min(deadline, absl::Now() + options_.connect_timeout));
  std::lock_guard lock(mu_);
  if (!conn.ok()) {
    --open_;
    freed_.notify_one();
    return conn.status();
  }
  ++counters_.opened;
  last_healthy_ = absl::Now();
  return Lease(this, *std::move(conn));
}

absl::StatusOr<Pool::Lease> Pool::Acquire(const Context& ctx) {
  const absl::Time now = absl::Now();
  const absl::Time deadline = ctx.deadline();
  const absl::Time give_up = std::min(deadline, now + options_.acquire_wait_max);
  std::unique_lock lock(mu_);
  while (true) {
    if (closed_) return Unavailable("acquire", "the connection pool is closed");
    if (ctx.cancelled()) return ctx.Alive();
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      // A connection idle for long may have been cut by the server or a proxy: check it first.
      if (absl::Now() - conn->idle_since() > options_.idle_check_after &&
          !RoundTrip(*conn, Sql::kPing, std::min(deadline, absl::Now() + absl::Seconds(1))).ok()) {
        Drop(std::move(conn));
        lock.lock();
        continue;
      }
      return Lease(this, std::move(conn));
    }
    if (open_ < options_.size_max) {
      ++open_;
      lock.unlock();
      return Open(deadline);
    }
    if (absl::Now() >= give_up) {
      ++counters_.exhausted;
      if (give_up == deadline) {
        return DomainError(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded,
                           "the deadline passed while waiting for a database connection");
      }
      return DomainError(absl::StatusCode::kResourceExhausted, reason::kPoolExhausted,
                         "no database connection became free in time");
    }
    ++waiting_;
    const absl::Time wake = std::min(give_up, absl::Now() + kWaitSlice);
    freed_.wait_for(lock, absl::ToChronoNanoseconds(std::max(absl::ZeroDuration(), wake - absl::Now())));
    --waiting_;
  }
}

void Pool::Drop(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(mu_);
    --open_;
    ++counters_.closed;
  }
  freed_.notify_one();
  conn.reset();  // PQfinish outside the lock.
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  if (!conn->broken() && conn->transaction_status() != PQTRANS_IDLE) {
    // Never keep a connection idle in a transaction: roll back, or close it if that fails.
    {
      std::lock_guard lock(mu_);
      ++counters_.resets;
    }
    if (!RoundTrip(*conn, Sql::kRollback, absl::Now() + options_.reset_timeout).ok() ||
        conn->transaction_status() != PQTRANS_IDLE) {
      conn->MarkBroken();
    }
  }
  if (conn->broken()) {
    Drop(std::move(conn));
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
    Drop(std::move(conn));  // The pool closed meanwhile.
    return;
  }
  freed_.notify_one();
}

absl::Status Pool::Ping(absl::Time deadline, absl::Duration fresh) {
  {
    std::lock_guard lock(mu_);
    if (absl::Now() - last_healthy_ < fresh) return absl::OkStatus();
  }
  Context ctx(deadline, "health");
  auto lease = Acquire(ctx);
  if (!lease.ok()) {
    std::lock_guard lock(mu_);
    const bool busy_but_healthy = lease.status().code() == absl::StatusCode::kResourceExhausted &&
                                  absl::Now() - last_healthy_ < absl::Seconds(5);
    return busy_but_healthy ? absl::OkStatus() : lease.status();
  }
  absl::Status status = RoundTrip(**lease, Sql::kPing, deadline);
  if (!status.ok()) (*lease)->MarkBroken();
  return status;
}

void Pool::Close() {
  {
    std::lock_guard lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_stop_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  std::vector<std::unique_ptr<Connection>> idle;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    idle.swap(idle_);
    open_ -= static_cast<int>(idle.size());
    counters_.closed += static_cast<int64_t>(idle.size());
  }
  freed_.notify_all();
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
  // Top up to size_min, one connection per round so a down database is not hammered.
  bool grow = false;
  std::vector<std::unique_ptr<Connection>> stale;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (open_ < options_.size_min) {
      ++open_;
      grow = true;
    }
    const absl::Time cutoff = absl::Now() - options_.idle_check_after;
    // Idle connections are ordered by last use; the oldest sit at the front.
    auto end = std::find_if(idle_.begin(), idle_.end(),
                            [&](const auto& c) { return c->idle_since() > cutoff; });
    std::move(idle_.begin(), end, std::back_inserter(stale));
    idle_.erase(idle_.begin(), end);
  }
  if (grow) {
    auto lease = Open(absl::Now() + options_.connect_timeout);
    // Going out of scope returns the new connection to the idle list.
  }
  for (auto& conn : stale) {
    if (!RoundTrip(*conn, Sql::kPing, absl::Now() + absl::Seconds(1)).ok()) conn->MarkBroken();
    Release(std::move(conn));
  }
}

}  // namespace walletd::pg
