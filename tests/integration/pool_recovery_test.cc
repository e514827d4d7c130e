// The pool under the faults of issue 16: a caller's deadline never costs it a connection (defect
// 1), a server that ended its sessions costs no call (defect 2), a slow connect is the database's
// unavailability (defect 7), and libpq's words stay out of what clients read (defect 6).

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "adapters/postgres/connection.h"
#include "domain/text.h"
#include "tests/integration/pg_fixture.h"

namespace walletd::testing {
namespace {

class PoolRecoveryTest : public PgTest {
 protected:
  // The pids of this test's service sessions.
  std::vector<int> Backends() {
    std::vector<int> pids;
    PGresult* r = sql_->Raw("SELECT pid FROM pg_stat_activity WHERE " + Mine());
    for (int i = 0; i < PQntuples(r); ++i) pids.push_back(std::stoi(PQgetvalue(r, i, 0)));
    PQclear(r);
    return pids;
  }
  void WaitUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 300 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
};

// A backend that does not answer before the caller's deadline (frozen here with SIGSTOP; under
// load, a reply that is merely late) used to cost the pool its connection: a new session per
// such call. Now the replies are read when they come, and the connection goes back to the pool.
TEST_F(PoolRecoveryTest, ADeadlinePassingMidRoundTripKeepsTheConnection) {
  std::string a = NewWallet(100), b = NewWallet(0);
  StackOptions options = DefaultOptions();
  options.pool.size_max = 1;
  Rebuild(options);
  ASSERT_EQ(BalanceOf(a), 100);  // Opens the pool's one connection.
  const std::vector<int> pids = Backends();
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(kill(pids[0], SIGSTOP), 0);
  std::thread resume([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    kill(pids[0], SIGCONT);
  });
  auto ctx = Ctx(absl::Milliseconds(40));
  auto result = (*transfer_)(*ctx, {"frozen", a, b, 10, "EUR"});
  resume.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
  const pg::Pool::Stats s = pool_->stats();
  EXPECT_EQ(s.opened, 1);
  EXPECT_EQ(s.closed, 0) << "the caller's deadline cost the pool its connection";
  EXPECT_EQ(s.drained, 1);
  EXPECT_EQ(IdleInTransaction(), 0);
  // The same session serves the next call, and the transfer that ran out of time did nothing.
  EXPECT_EQ(BalanceOf(a), 100);
  EXPECT_EQ(BalanceOf(b), 0);
  EXPECT_EQ(Backends(), pids);
  EXPECT_EQ(pool_->stats().opened, 1);
}

// A caller that gives up while its connection is being opened does not abandon it half-open:
// the pool opens on its own schedule and keeps what it opened for the next caller.
TEST_F(PoolRecoveryTest, AConnectionOpenedForACallerWhoGaveUpIsKept) {
  StackOptions options = DefaultOptions();
  options.pool.size_max = 2;
  Rebuild(options);
  Context hasty(absl::Now() + absl::Microseconds(200), "hasty");
  EXPECT_THAT(pool_->Acquire(hasty), StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
  WaitUntil([&] { return pool_->stats().idle == 1; });
  const pg::Pool::Stats s = pool_->stats();
  EXPECT_EQ(s.idle, 1);
  EXPECT_EQ(s.opened, 1);
  EXPECT_EQ(s.closed, 0);
  auto ctx = Ctx();
  EXPECT_THAT(pool_->Acquire(*ctx), IsOk());
  EXPECT_EQ(pool_->stats().opened, 1);
}

// Defect 1's load in miniature: 16 callers with deadlines shorter than a round trip takes under
// load. The pool opens at most size_max sessions in all, and serves normally at once afterwards.
TEST_F(PoolRecoveryTest, CallersWithTightDeadlinesOpenAtMostThePoolsSessions) {
  std::vector<std::string> wallets;
  for (int i = 0; i < 8; ++i) wallets.push_back(NewWallet(1'000'000));
  StackOptions options = DefaultOptions();
  options.pool.size_max = 4;
  options.pool.acquire_wait_max = absl::Seconds(1);
  Rebuild(options);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 16; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        // 1 to 8 ms: between no round trip at all and a few.
        Context ctx(absl::Now() + absl::Milliseconds(1 + (t + i) % 8), "tight");
        ctx.set_caller(&Platform());
        const std::string& from = wallets[(t + i) % wallets.size()];
        const std::string& to = wallets[(t + i + 1) % wallets.size()];
        auto r = (*transfer_)(ctx, {absl::StrCat("tight-", t, "-", i), from, to, 1, "EUR"});
        (r.ok() ? ok : failed).fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (auto& c : callers) c.join();
  const pg::Pool::Stats s = pool_->stats();
  EXPECT_LE(s.opened, 4) << "closed " << s.closed << ", drained " << s.drained;
  EXPECT_GT(failed.load(), 0) << "the deadlines were not tight enough to test anything";
  std::cout << "tight deadlines: " << ok.load() << " ok, " << failed.load() << " failed; "
            << s.opened << " sessions opened, " << s.closed << " closed, " << s.drained
            << " drained\n";
  // Normal service at once: a call with an ordinary deadline succeeds, nothing is left open.
  const absl::Time after = absl::Now();
  EXPECT_GE(BalanceOf(wallets[0]), 0);
  EXPECT_LE(absl::Now() - after, absl::Seconds(1));
  EXPECT_EQ(IdleInTransaction(), 0);
  ExpectLedgerMatchesBalances();
}

// After the server ends every idle session (as a restart does), the first call of every kind
// succeeds on its first try: idle connections are checked before they are handed out.
TEST_F(PoolRecoveryTest, FirstCallOfEveryKindSucceedsAfterTheServerEndedIdleSessions) {
  std::string a = NewWallet(100), b = NewWallet(0);
  StackOptions options = DefaultOptions();
  options.pool.size_max = 4;
  options.retry.attempts_max = 1;  // A call may not lean on the transactor's retries.
  Rebuild(options);
  {  // Four idle connections.
    auto ctx = Ctx();
    std::vector<pg::Pool::Lease> leases;
    for (int i = 0; i < 4; ++i) leases.push_back(*pool_->Acquire(*ctx));
  }
  ASSERT_EQ(Backends().size(), 4u);
  sql_->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE " + Mine());
  WaitUntil([&] { return Backends().empty(); });
  auto ctx = Ctx();
  EXPECT_THAT((*create_wallet_)(*ctx, {"after-restart", "EUR"}), IsOk());
  EXPECT_THAT((*balance_)(*ctx, {a}), IsOk());
  EXPECT_THAT((*transfer_)(*ctx, {"after-restart-t", a, b, 10, "EUR"}), IsOk());
  EXPECT_THAT((*deposit_)(*ctx, {"after-restart-d", a, 5, "EUR"}), IsOk());
  EXPECT_THAT(pool_->Ping(absl::Now() + absl::Seconds(1)), IsOk());
  EXPECT_EQ(transactor_->stats().retries, 0);
}

// A wallet insert whose connection is lost after it was sent runs again, and CreateWallet
// answers the wallet the first run created: the insert is replayable by construction.
TEST_F(PoolRecoveryTest, CreateWalletSurvivesItsConnectionDyingMidCall) {
  StackOptions options = DefaultOptions();
  options.pool.size_max = 2;
  Rebuild(options);
  {
    auto ctx = Ctx();
    ASSERT_THAT((*create_wallet_)(*ctx, {"warm-up", "EUR"}), IsOk());
  }
  const std::vector<int> pids = Backends();
  ASSERT_EQ(pids.size(), 1u);
  // Frozen, the backend receives the insert; terminated while frozen, it never answers, so for
  // walletd the insert's outcome is unknown.
  ASSERT_EQ(kill(pids[0], SIGSTOP), 0);
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Sql(dsn_).Exec(absl::StrCat("SELECT pg_terminate_backend(", pids[0], ")"));
    kill(pids[0], SIGCONT);
  });
  auto ctx = Ctx(absl::Seconds(20));
  auto created = (*create_wallet_)(*ctx, {"mid-call", "EUR"});
  killer.join();
  EXPECT_THAT(created, IsOk());
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM wallets WHERE request_id = 'mid-call'"), 1);
}

// A server that accepts the TCP connection but never answers: the connect timeout is the
// database's unavailability, not the caller's deadline (which is far away).
TEST_F(PoolRecoveryTest, ConnectTimeoutIsDatabaseUnavailable) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 16), 0);  // The kernel accepts; nobody ever answers.
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  pg::PoolOptions options;
  options.dsn = absl::StrCat("host=127.0.0.1 port=", ntohs(addr.sin_port),
                             " dbname=walletd user=nobody password=s3cret sslmode=disable");
  options.connect_timeout = absl::Milliseconds(200);
  pg::Pool pool(options);
  auto ctx = Ctx(absl::Seconds(30));
  const absl::Time start = absl::Now();
  auto lease = pool.Acquire(*ctx);
  EXPECT_THAT(lease, StatusIs(absl::StatusCode::kUnavailable, reason::kDatabaseUnavailable));
  EXPECT_LE(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(LogText(lease.status()).find("s3cret"), std::string::npos);
  pool.Close();
  close(listener);
}

// libpq's and the server's words (socket paths, hosts, ports) go to the log, never to clients.
TEST_F(PoolRecoveryTest, UnavailableMessageCarriesNoDatabaseInternals) {
  pg::PoolOptions options;
  options.dsn = "host=/nonexistent-walletd-socket-dir port=5999 dbname=walletd";
  pg::Pool pool(options);
  auto ctx = Ctx();
  auto lease = pool.Acquire(*ctx);
  ASSERT_THAT(lease, StatusIs(absl::StatusCode::kUnavailable, reason::kDatabaseUnavailable));
  const std::string message(lease.status().message());
  EXPECT_EQ(message.find("nonexistent-walletd-socket-dir"), std::string::npos) << message;
  EXPECT_EQ(message.find("5999"), std::string::npos) << message;
  EXPECT_NE(DetailOf(lease.status()).find("nonexistent-walletd-socket-dir"), std::string::npos)
      << "the log lost the cause: " << DetailOf(lease.status());
}

}  // namespace
}  // namespace walletd::testing
