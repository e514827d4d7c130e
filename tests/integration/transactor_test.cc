// The Transactor on a real PostgreSQL: no transaction is ever left open, deadlines reach the
// server, uncommitted work is invisible, round trips are few, and connection faults are retried
// or reported according to whether COMMIT may have run.

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "absl/random/random.h"
#include "adapters/postgres/connection.h"
#include "domain/status_macros.h"
#include "tests/integration/pg_fixture.h"
#include "tests/unit/mocks.h"

namespace walletd::testing {
namespace {

class TransactorTest : public PgTest {
 protected:
  // For the tests that Rebuild() the stack to report to it; outlives the stack (TearDown).
  ::testing::NiceMock<MockMetrics> metrics_;

  // Locks `wallet` in a transaction of ours, then runs `then` inside the closure.
  absl::Status LockThen(Context& ctx, const std::string& wallet,
                        const std::function<absl::Status(Context&)>& then) {
    return transactor_->WithinTransaction(ctx, {}, [&](Context& c) -> absl::Status {
      std::vector<WalletId> ids = {*WalletId::Parse(wallet)};
      RETURN_IF_ERROR(wallets_->LockForUpdate(c, ids).status());
      return then(c);
    });
  }
  void ExpectPoolHasEverythingBack() {
    const pg::Pool::Stats s = pool_->stats();
    EXPECT_EQ(s.idle, s.open) << "a connection was not returned to the pool";
  }
  // The walletd backend that sits idle in a transaction. A backend reports that state only after
  // its results are out, so the client may look before it shows: poll.
  int IdleWalletdBackend() {
    for (int i = 0; i < 500; ++i) {
      std::string pid = sql_->Value("SELECT pid FROM pg_stat_activity WHERE " + Mine() +
                                    " AND state = 'idle in transaction' LIMIT 1");
      if (!pid.empty()) return std::stoi(pid);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "no walletd session is idle in a transaction";
    return 0;
  }
  void Terminate(int pid) {
    sql_->Exec(absl::StrCat("SELECT pg_terminate_backend(", pid, ")"));
    for (int i = 0; i < 500 && sql_->Int(absl::StrCat(
                                   "SELECT count(*) FROM pg_stat_activity WHERE pid = ", pid)) > 0;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
};

TEST_F(TransactorTest, FailingClosureLeavesNoOpenTransaction) {
  std::string a = NewWallet(10);
  auto ctx = Ctx();
  absl::Status status = LockThen(*ctx, a, [&](Context&) {
    EXPECT_EQ(IdleInTransaction(), 1);  // The lock is held right now...
    return absl::InternalError("the closure failed");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(IdleInTransaction(), 0);  // ...and released with the transaction.
  ExpectPoolHasEverythingBack();
  // The row is free again: a new transaction locks it at once.
  EXPECT_THAT((*withdraw_)(*Ctx(absl::Seconds(2)), {"after-fail", a, 1, "EUR"}), IsOk());
}

TEST_F(TransactorTest, ThrowingClosureLeavesNoOpenTransaction) {
  std::string a = NewWallet(10);
  auto ctx = Ctx();
  EXPECT_THROW((void)LockThen(*ctx, a, [&](Context&) -> absl::Status {
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(ctx->slot(), nullptr);  // The context no longer carries the dead transaction.
  EXPECT_EQ(IdleInTransaction(), 0);
  ExpectPoolHasEverythingBack();
  EXPECT_THAT((*withdraw_)(*Ctx(absl::Seconds(2)), {"after-throw", a, 1, "EUR"}), IsOk());
}

TEST_F(TransactorTest, ClosureOutlivingItsDeadlineIsRolledBackNotCommitted) {
  std::string a = NewWallet(10);
  auto ctx = Ctx(absl::Milliseconds(300));
  absl::Status status = transactor_->WithinTransaction(*ctx, {}, [&](Context& c) -> absl::Status {
    std::vector<WalletId> ids = {*WalletId::Parse(a)};
    ASSIGN_OR_RETURN(std::vector<Wallet> locked, wallets_->LockForUpdate(c, ids));
    const int64_t version = locked[0].version();
    RETURN_IF_ERROR(locked[0].Debit(*Money::Positive(10, "EUR"), absl::Now()));
    RETURN_IF_ERROR(wallets_->Save(c, locked[0], version));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // Past the deadline.
    return absl::OkStatus();
  });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
  EXPECT_EQ(BalanceOf(a), 10);
  EXPECT_EQ(IdleInTransaction(), 0);
  ExpectPoolHasEverythingBack();
}

TEST_F(TransactorTest, LockWaitEndsAtTheDeadlineAndTheHolderIsUnaffected) {
  std::string a = NewWallet(100), b = NewWallet(0);
  Sql holder(dsn_);
  holder.Exec("BEGIN");
  holder.Exec(absl::StrCat("SELECT * FROM wallets WHERE id = '", a, "' FOR UPDATE"));
  auto ctx = Ctx(absl::Milliseconds(400));
  const absl::Time start = absl::Now();
  auto result = (*transfer_)(*ctx, {"blocked", a, b, 10, "EUR"});
  const absl::Duration waited = absl::Now() - start;
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
  EXPECT_GE(waited, absl::Milliseconds(300));
  EXPECT_LE(waited, absl::Milliseconds(450)) << "the wait outlived the caller's deadline";
  // The holder goes on and commits as if nothing happened.
  holder.Exec(absl::StrCat("UPDATE wallets SET balance = balance + 5 WHERE id = '", a, "'"));
  holder.Exec("COMMIT");
  EXPECT_EQ(BalanceOf(a), 105);
  EXPECT_EQ(IdleInTransaction(), 0);
  ExpectPoolHasEverythingBack();
  // And the server-side timeout left the connection usable.
  EXPECT_EQ(pool_->stats().closed, 0);
}

TEST_F(TransactorTest, ExpiredDeadlineFailsBeforeAnyDatabaseCall) {
  const int64_t trips = pg::Connection::RoundTrips();
  Context expired(absl::Now() - absl::Milliseconds(1), "late");
  EXPECT_THAT(transactor_->WithinTransaction(expired, {}, [](Context&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
  EXPECT_EQ(pg::Connection::RoundTrips(), trips);
}

TEST_F(TransactorTest, UncommittedTransferIsInvisibleToBalance) {
  std::string a = NewWallet(100);
  std::promise<void> written, checked;
  std::thread writer([&] {
    auto ctx = Ctx();
    absl::Status status = transactor_->WithinTransaction(*ctx, {}, [&](Context& c) -> absl::Status {
      std::vector<WalletId> ids = {*WalletId::Parse(a)};
      ASSIGN_OR_RETURN(std::vector<Wallet> locked, wallets_->LockForUpdate(c, ids));
      RETURN_IF_ERROR(locked[0].Credit(*Money::Positive(900, "EUR"), absl::Now()));
      RETURN_IF_ERROR(wallets_->Save(c, locked[0], 1));
      // A read in the same transaction sends the held-back save: the row is now changed, uncommitted.
      auto seen = wallets_->Get(c, *WalletId::Parse(a));
      EXPECT_EQ(seen->balance(), 1000);
      written.set_value();
      checked.get_future().wait();
      return absl::OkStatus();
    });
    EXPECT_THAT(status, IsOk());
  });
  written.get_future().wait();
  EXPECT_EQ(BalanceOf(a), 100);
  checked.set_value();
  writer.join();
  EXPECT_EQ(BalanceOf(a), 1000);
}

TEST_F(TransactorTest, NestedCallJoinsTheOuterTransaction) {
  std::string a = NewWallet(50);
  const int64_t before = transactor_->stats().transactions;
  auto ctx = Ctx();
  absl::Status status = transactor_->WithinTransaction(*ctx, {}, [&](Context& outer) {
    return transactor_->WithinTransaction(outer, {}, [&](Context& inner) -> absl::Status {
      EXPECT_EQ(&inner, &outer);
      std::vector<WalletId> ids = {*WalletId::Parse(a)};
      RETURN_IF_ERROR(wallets_->LockForUpdate(inner, ids).status());
      return absl::AbortedError("inner fails");
    });
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(transactor_->stats().transactions - before, 1);  // The inner call was no new one.
  EXPECT_EQ(IdleInTransaction(), 0);
}

TEST_F(TransactorTest, RoundTripsPerOperation) {
  std::string a = NewWallet(1000), b = NewWallet(0);
  auto trips = [](const std::function<void()>& op) {
    const int64_t before = pg::Connection::RoundTrips();
    op();
    return pg::Connection::RoundTrips() - before;
  };
  auto ctx = Ctx();
  const int64_t transfer = trips([&] { ASSERT_THAT((*transfer_)(*ctx, {"rt-1", a, b, 1, "EUR"}), IsOk()); });
  const int64_t deposit = trips([&] { ASSERT_THAT((*deposit_)(*ctx, {"rt-2", a, 1, "EUR"}), IsOk()); });
  const int64_t balance = trips([&] { ASSERT_THAT((*balance_)(*ctx, {a}), IsOk()); });
  const int64_t create = trips([&] { ASSERT_THAT((*create_wallet_)(*ctx, {"rt-3", "EUR"}), IsOk()); });
  const int64_t replay = trips([&] { ASSERT_THAT((*transfer_)(*ctx, {"rt-1", a, b, 1, "EUR"}), IsOk()); });
  const int64_t refused = trips([&] {
    EXPECT_THAT((*transfer_)(*ctx, {"rt-4", b, a, 1'000'000, "EUR"}),
                StatusIs(absl::StatusCode::kFailedPrecondition, reason::kInsufficientFunds));
  });
  std::cout << "round trips: transfer=" << transfer << " deposit=" << deposit
            << " balance=" << balance << " create_wallet=" << create << " replay=" << replay
            << " refused=" << refused << "\n";
  EXPECT_EQ(transfer, 2);
  EXPECT_EQ(deposit, 2);
  EXPECT_EQ(balance, 1);
  EXPECT_EQ(create, 1);
  EXPECT_LE(replay, 4);
  EXPECT_LE(refused, 3);
}

TEST_F(TransactorTest, ConnectionLostBeforeCommitIsRetriedOnAFreshConnection) {
  std::string a = NewWallet(100), b = NewWallet(0);
  // The metrics hear of one transaction, its retry for a lost connection (SQLSTATE class 08)
  // and its commit on the second run.
  StackOptions options = DefaultOptions();
  options.metrics = &metrics_;
  Rebuild(options);
  {
    ::testing::InSequence in_order;
    EXPECT_CALL(metrics_, TransactionBegun());
    EXPECT_CALL(metrics_, TransactionRetried("08"));
    EXPECT_CALL(metrics_, TransactionFinished(TxOutcome::kCommitted, 2));
  }
  EXPECT_CALL(metrics_, ConnectionAcquireWaited).Times(::testing::AtLeast(2));
  int runs = 0;
  auto ctx = Ctx();
  absl::Status status = transactor_->WithinTransaction(*ctx, {}, [&](Context& c) -> absl::Status {
    ++runs;
    std::vector<WalletId> ids = {*WalletId::Parse(a)};
    ASSIGN_OR_RETURN(std::vector<Wallet> locked, wallets_->LockForUpdate(c, ids));
    if (runs == 1) Terminate(IdleWalletdBackend());  // The server drops us mid-transaction.
    const int64_t version = locked[0].version();
    RETURN_IF_ERROR(locked[0].Debit(*Money::Positive(30, "EUR"), absl::Now()));
    return wallets_->Save(c, locked[0], version);
  });
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(transactor_->stats().retries, 1);
  EXPECT_EQ(BalanceOf(a), 70);
  ExpectPoolHasEverythingBack();
}

TEST_F(TransactorTest, RetryThatWouldOutliveTheDeadlineReportsDeadlineExceeded) {
  StackOptions options = DefaultOptions();
  // Full jitter draws the pause from [0, 1 h]; with 100 ms left, one fits 3 times in 100000.
  options.retry.backoff_base = absl::Hours(1);
  options.retry.backoff_max = absl::Hours(1);
  Rebuild(options);
  std::string a = NewWallet(100);
  int runs = 0;
  auto ctx = Ctx(absl::Seconds(3));
  absl::Status status = transactor_->WithinTransaction(*ctx, {}, [&](Context& c) -> absl::Status {
    ++runs;
    std::vector<WalletId> ids = {*WalletId::Parse(a)};
    RETURN_IF_ERROR(wallets_->LockForUpdate(c, ids).status());
    Terminate(IdleWalletdBackend());
    absl::SleepFor(c.deadline() - absl::Milliseconds(100) - absl::Now());
    std::vector<WalletId> again = {*WalletId::Parse(a)};
    return wallets_->LockForUpdate(c, again).status();
  });
  // The lost connection was retryable, but the deadline left no room: the caller hears that.
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
  EXPECT_EQ(runs, 1);
  EXPECT_LT(absl::Now(), ctx->deadline()) << "it gave up at once instead of sleeping";
}

TEST_F(TransactorTest, ConnectionLostDuringCommitIsReportedAsUnknownOutcome) {
  std::string a = NewWallet(100), b = NewWallet(0);
  // A deferred trigger makes COMMIT itself slow, so the connection can die while COMMIT runs.
  sql_->Exec("CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
             "$$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$");
  sql_->Exec("CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON transfers DEFERRABLE "
             "INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()");
  StackOptions options = DefaultOptions();
  options.metrics = &metrics_;
  Rebuild(options);
  EXPECT_CALL(metrics_,
              TransactionFinished(::testing::Ne(TxOutcome::kOutcomeUnknown), ::testing::_))
      .Times(::testing::AnyNumber());  // The client's retry and replay, below.
  EXPECT_CALL(metrics_, TransactionFinished(TxOutcome::kOutcomeUnknown, 1));
  EXPECT_CALL(metrics_, TransactionRetried).Times(0);
  auto pending = std::async(std::launch::async, [&] {
    auto ctx = Ctx();
    return (*transfer_)(*ctx, {"unknown-1", a, b, 40, "EUR"});
  });
  std::string pid;
  for (int i = 0; i < 500 && pid.empty(); ++i) {
    pid = sql_->Value("SELECT pid FROM pg_stat_activity WHERE " + Mine() +
                      " AND wait_event = 'PgSleep' LIMIT 1");
    if (pid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(pid.empty()) << "COMMIT never reached the slow trigger";
  Terminate(std::stoi(pid));
  auto result = pending.get();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable, reason::kCommitOutcomeUnknown));
  EXPECT_EQ(transactor_->stats().outcome_unknown, 1);
  EXPECT_EQ(transactor_->stats().retries, 0) << "a COMMIT of unknown outcome must not be re-run";
  // The client retries with the same request id and the money moves exactly once.
  sql_->Exec("DROP TRIGGER slow_commit ON transfers");
  auto ctx = Ctx();
  auto retried = (*transfer_)(*ctx, {"unknown-1", a, b, 40, "EUR"});
  ASSERT_THAT(retried, IsOk());
  auto again = (*transfer_)(*ctx, {"unknown-1", a, b, 40, "EUR"});
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(BalanceOf(a), 60);
  EXPECT_EQ(BalanceOf(b), 40);
  ExpectLedgerMatchesBalances();
}

TEST_F(TransactorTest, TransfersUnderBackendTerminationsAreAnsweredAsTheyEnded) {
  // Transfers from 4 threads while a side session terminates walletd's backends every few ms.
  // Some die after COMMIT's reply but before the Sync's: those transfers are committed and must
  // be answered OK, not COMMIT_OUTCOME_UNKNOWN.
  constexpr int kThreads = 4;
  constexpr int kTransfersPerThread = 150;
  constexpr int kWallets = 8;
  std::vector<std::string> wallets;
  for (int i = 0; i < kWallets; ++i) wallets.push_back(NewWallet(1'000'000));
  std::atomic<bool> done{false};
  std::thread killer([&] {
    Sql side(BaseDsn());
    side.Exec("SET client_min_messages = error");  // Not "PID ... is not a backend" each time.
    absl::BitGen bits;
    while (!done.load()) {
      // One session at a time, and none still opening: a connection killed while it prepares
      // its statements fails the call before any transaction, which is not what this tests.
      side.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE " + Mine() +
                " AND backend_start < clock_timestamp() - interval '50 ms' "
                "ORDER BY random() LIMIT 1");
      absl::SleepFor(absl::Milliseconds(absl::Uniform(bits, 2, 8)));
    }
  });
  std::mutex mu;
  std::map<std::string, absl::Status> answers;  // By request id.
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      absl::BitGen bits;
      for (int i = 0; i < kTransfersPerThread; ++i) {
        const int from = absl::Uniform(bits, 0, kWallets);
        const int to = (from + absl::Uniform(bits, 1, kWallets)) % kWallets;
        const std::string request_id = absl::StrCat("kill-", t, "-", i);
        auto ctx = Ctx();
        auto result = (*transfer_)(*ctx, {request_id, wallets[from], wallets[to], 1, "EUR"});
        std::lock_guard lock(mu);
        answers[request_id] = result.status();
      }
    });
  }
  for (std::thread& client : clients) client.join();
  done = true;
  killer.join();

  std::map<std::string, int64_t> in_ledger;
  PGresult* rows = sql_->Raw("SELECT request_id, count(*) FROM transfers "
                             "WHERE request_id LIKE 'kill-%' GROUP BY request_id");
  ASSERT_EQ(PQresultStatus(rows), PGRES_TUPLES_OK);
  for (int i = 0; i < PQntuples(rows); ++i) {
    in_ledger[PQgetvalue(rows, i, 0)] = std::stoll(PQgetvalue(rows, i, 1));
  }
  PQclear(rows);
  int ok = 0, unknown = 0, unknown_committed = 0, failed = 0;
  for (const auto& [request_id, status] : answers) {
    const int64_t copies = in_ledger.count(request_id) ? in_ledger[request_id] : 0;
    EXPECT_LE(copies, 1) << request_id;
    if (status.ok()) {
      ++ok;
      EXPECT_EQ(copies, 1) << request_id << " was answered OK but is not in the ledger";
    } else if (HasReason(status, reason::kCommitOutcomeUnknown)) {
      ++unknown;
      unknown_committed += copies;
    } else {
      ++failed;
      if (failed <= 5) std::cout << "failed: " << status << "\n";
      EXPECT_EQ(copies, 0) << request_id << " failed with " << status << " but is in the ledger";
    }
  }
  std::cout << "under terminations: ok=" << ok << " outcome_unknown=" << unknown
            << " of which committed=" << unknown_committed << " other failures=" << failed
            << " connections opened=" << pool_->stats().opened << "\n";
  EXPECT_EQ(ok + unknown + failed, kThreads * kTransfersPerThread);
  EXPECT_GT(pool_->stats().opened, 10) << "the terminations hardly hit anything";
  // A COMMIT whose own reply was lost stays unknown, and may have committed; rarely so.
  EXPECT_LE(unknown_committed, 3);
  ExpectLedgerMatchesBalances();
}

}  // namespace
}  // namespace walletd::testing
