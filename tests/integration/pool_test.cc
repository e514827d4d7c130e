// The connection pool: bounded waits, broken connections replaced, none kept in a transaction.

#include <thread>

#include "adapters/postgres/connection.h"
#include "tests/integration/pg_fixture.h"

namespace walletd::testing {
namespace {

class PoolTest : public PgTest {
 protected:
  std::unique_ptr<pg::Pool> MakePool(int size_max, absl::Duration acquire_wait_max) {
    pg::PoolOptions options;
    options.dsn = dsn_;
    options.size_min = 0;
    options.size_max = size_max;
    options.acquire_wait_max = acquire_wait_max;
    return std::make_unique<pg::Pool>(options);
  }
};

TEST_F(PoolTest, AcquireWaitIsBoundedByThePoolAndByTheDeadline) {
  auto pool = MakePool(1, absl::Milliseconds(200));
  auto ctx = Ctx();
  auto held = pool->Acquire(*ctx);
  ASSERT_THAT(held, IsOk());
  absl::Time start = absl::Now();
  EXPECT_THAT(pool->Acquire(*ctx),
              StatusIs(absl::StatusCode::kResourceExhausted, reason::kPoolExhausted));
  absl::Duration waited = absl::Now() - start;
  EXPECT_GE(waited, absl::Milliseconds(190));
  EXPECT_LE(waited, absl::Milliseconds(400));
  auto short_ctx = Ctx(absl::Milliseconds(50));
  start = absl::Now();
  EXPECT_THAT(pool->Acquire(*short_ctx),
              StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
  EXPECT_LE(absl::Now() - start, absl::Milliseconds(200));
  EXPECT_EQ(pool->stats().exhausted, 2);
}

TEST_F(PoolTest, AReturnedConnectionWakesAWaiter) {
  auto pool = MakePool(1, absl::Seconds(5));
  auto ctx = Ctx();
  auto held = std::make_unique<pg::Pool::Lease>(*pool->Acquire(*ctx));
  std::thread giver([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    held.reset();
  });
  const absl::Time start = absl::Now();
  EXPECT_THAT(pool->Acquire(*ctx), IsOk());
  EXPECT_LE(absl::Now() - start, absl::Seconds(1));
  giver.join();
  EXPECT_EQ(pool->stats().opened, 1);
}

TEST_F(PoolTest, CancelledCallerStopsWaiting) {
  auto pool = MakePool(1, absl::Seconds(5));
  auto ctx = Ctx();
  auto held = pool->Acquire(*ctx);
  Context waiter(absl::Now() + absl::Seconds(5), "w");
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    waiter.Cancel();
  });
  const absl::Time start = absl::Now();
  EXPECT_THAT(pool->Acquire(waiter), StatusIs(absl::StatusCode::kCancelled, reason::kCancelled));
  EXPECT_LE(absl::Now() - start, absl::Seconds(1));
  canceller.join();
}

TEST_F(PoolTest, ConnectionReturnedInsideATransactionIsRolledBack) {
  auto pool = MakePool(1, absl::Seconds(1));
  auto ctx = Ctx();
  {
    auto lease = pool->Acquire(*ctx);
    ASSERT_THAT(lease, IsOk());
    pg::Statement begin{pg::Sql::kBeginReadCommitted, {}};
    const pg::Statement* batch[] = {&begin};
    std::vector<pg::Result> results;
    ASSERT_THAT((*lease)->Pipeline(batch, absl::Now() + absl::Seconds(5), &results), IsOk());
    EXPECT_EQ((*lease)->transaction_status(), PQTRANS_INTRANS);
  }
  EXPECT_EQ(pool->stats().resets, 1);
  EXPECT_EQ(pool->stats().idle, 1);
  EXPECT_EQ(IdleInTransaction(), 0);
  auto again = pool->Acquire(*ctx);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ((*again)->transaction_status(), PQTRANS_IDLE);
}

// PostgreSQL would otherwise plan `id = ANY($1)` again on every run: 7 % of its CPU per transfer.
TEST_F(PoolTest, ConnectionsPlanEachStatementOnce) {
  const std::string wallet = NewWallet(1);
  auto conn = pg::Connection::Open(dsn_, absl::Now() + absl::Seconds(5));
  ASSERT_THAT(conn, IsOk());
  constexpr int kRuns = 8;  // More than the 5 custom plans PostgreSQL tries before choosing.
  std::vector<pg::Statement> locks(kRuns, pg::Statement{pg::Sql::kWalletLock, {}});
  pg::Statement begin{pg::Sql::kBeginReadCommitted, {}};
  std::vector<const pg::Statement*> batch = {&begin};
  for (pg::Statement& lock : locks) {
    lock.params.UuidArray({wallet});
    batch.push_back(&lock);
  }
  pg::Statement counts{pg::Sql::kPlanCounts, {}};
  counts.params.Text(pg::Definition(pg::Sql::kWalletLock).name);
  batch.push_back(&counts);
  std::vector<pg::Result> results;
  ASSERT_THAT((*conn)->Pipeline(batch, absl::Now() + absl::Seconds(5), &results), IsOk());
  const pg::Result& plans = results.back();
  ASSERT_EQ(plans.rows(), 1);
  EXPECT_EQ(results[1].rows(), 1);  // The lock found the wallet.
  EXPECT_EQ(plans.Int64(0, 0), kRuns) << "generic plans";
  EXPECT_EQ(plans.Int64(0, 1), 0) << "custom plans";
}

TEST_F(PoolTest, DeadIdleConnectionIsReplacedWithoutTheCallerNoticing) {
  std::string a = NewWallet(5);
  std::string pid = sql_->Value("SELECT pid FROM pg_stat_activity WHERE " + Mine() + " LIMIT 1");
  ASSERT_FALSE(pid.empty());
  sql_->Exec("SELECT pg_terminate_backend(" + pid + ")");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(BalanceOf(a), 5);  // The read found its pooled connection dead and used a new one.
  EXPECT_GE(pool_->stats().closed, 1);
}

TEST_F(PoolTest, MaintenanceKeepsTheMinimumOpenAndDropsDeadIdleConnections) {
  pg::PoolOptions options;
  options.dsn = dsn_;
  options.size_min = 3;
  options.size_max = 4;
  options.idle_check_after = absl::Milliseconds(100);
  options.maintenance_interval = absl::Milliseconds(50);
  pg::Pool pool(options);
  pool.StartMaintenance();
  // Connected and idle: `open` also counts a connection still being opened, which the server may
  // not list yet.
  auto wait_for_open = [&](int n) {
    for (int i = 0; i < 200 && (pool.stats().open != n || pool.stats().idle != n); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pool.stats().idle;
  };
  EXPECT_EQ(wait_for_open(3), 3);
  sql_->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE " + Mine());
  for (int i = 0; i < 200 && pool.stats().closed < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(pool.stats().closed, 3);
  EXPECT_EQ(wait_for_open(3), 3);
  // The server agrees once the terminated backends have exited.
  int64_t sessions = 0;
  for (int i = 0; i < 100; ++i) {
    sessions = sql_->Int("SELECT count(*) FROM pg_stat_activity WHERE " + Mine());
    if (sessions == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(sessions, 3);
}

TEST_F(PoolTest, PingTrustsARecentlyHealthyConnectionWithoutIo) {
  auto pool = MakePool(1, absl::Seconds(1));
  auto ctx = Ctx();
  { auto lease = pool->Acquire(*ctx); }  // Comes back healthy now.
  auto held = std::make_unique<pg::Pool::Lease>(*pool->Acquire(*ctx));  // The only one is busy...
  const int64_t trips = pg::Connection::RoundTrips();
  const absl::Time start = absl::Now();
  EXPECT_THAT(pool->Ping(absl::Now() + absl::Seconds(1), absl::Seconds(5)), IsOk());
  EXPECT_LE(absl::Now() - start, absl::Milliseconds(50));  // ...and the check does not wait for it.
  EXPECT_EQ(pg::Connection::RoundTrips(), trips);
  held.reset();
  EXPECT_THAT(pool->Ping(absl::Now() + absl::Seconds(1)), IsOk());  // Without `fresh`: a round trip.
  EXPECT_EQ(pg::Connection::RoundTrips(), trips + 1);
}

TEST_F(PoolTest, UnreachableDatabaseIsUnavailableQuickly) {
  pg::PoolOptions options;
  options.dsn = "host=/nonexistent-walletd-socket-dir dbname=walletd";
  pg::Pool pool(options);
  auto ctx = Ctx();
  const absl::Time start = absl::Now();
  EXPECT_THAT(pool.Acquire(*ctx),
              StatusIs(absl::StatusCode::kUnavailable, reason::kDatabaseUnavailable));
  EXPECT_LE(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(pool.Ping(absl::Now() + absl::Seconds(1)).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pool.stats().open, 0);
}

}  // namespace
}  // namespace walletd::testing
