// Races on a real PostgreSQL: many clients at once on few wallets. Money must be conserved, the
// ledger must match the balances, and no client may see an error the service should have hidden.

#include <latch>
#include <map>
#include <mutex>
#include <thread>

#include "absl/random/random.h"
#include "domain/status_macros.h"
#include "tests/integration/pg_fixture.h"

namespace walletd::testing {
namespace {

// Runs fn(i) for i in [0, n) on n threads released together.
template <class F>
void RunConcurrently(int n, F fn) {
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

class ConcurrencyTest : public PgTest {
 protected:
  int64_t Sum(const std::vector<std::string>& wallets) {
    int64_t sum = 0;
    for (const auto& w : wallets) sum += BalanceOf(w);
    return sum;
  }
  // Concurrent random transfers among `wallets`; returns the errors clients saw, by status.
  std::map<std::string, int> RandomTransfers(const std::vector<std::string>& wallets, int clients,
                                             int per_client, const std::string& tag) {
    std::mutex mu;
    std::map<std::string, int> errors;
    RunConcurrently(clients, [&](int client) {
      absl::BitGen bits;
      for (int k = 0; k < per_client; ++k) {
        const size_t from = absl::Uniform<size_t>(bits, 0, wallets.size());
        size_t to = absl::Uniform<size_t>(bits, 0, wallets.size() - 1);
        if (to >= from) ++to;
        auto ctx = Ctx();
        auto result = (*transfer_)(*ctx, {absl::StrCat(tag, "-", client, "-", k), wallets[from],
                                          wallets[to], absl::Uniform<int64_t>(bits, 1, 50), "EUR"});
        if (!result.ok()) {
          std::lock_guard lock(mu);
          ++errors[result.status().ToString()];
        }
      }
    });
    return errors;
  }
};

TEST_F(ConcurrencyTest, NoLostUpdateUnderConcurrentTransfers) {
  std::vector<std::string> wallets;
  for (int i = 0; i < 4; ++i) wallets.push_back(NewWallet(100'000));
  const int64_t before = Sum(wallets);
  auto errors = RandomTransfers(wallets, /*clients=*/64, /*per_client=*/10, "lost-update");
  EXPECT_TRUE(errors.empty()) << "first error: " << errors.begin()->first;
  EXPECT_EQ(Sum(wallets), before);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE kind = 'transfer'"), 640);
  ExpectLedgerMatchesBalances();
}

TEST_F(ConcurrencyTest, ReadModifyWriteWithoutLockIsCaughtByTheVersionCheck) {
  // The classic lost update: read, add, write back. The version check turns the race into a
  // VERSION_CONFLICT for the losers instead of silently dropping their increments.
  std::string id = NewWallet(0);
  std::atomic<int> won{0}, conflicted{0};
  RunConcurrently(16, [&](int) {
    auto ctx = Ctx();
    auto wallet = wallets_->Get(*ctx, *WalletId::Parse(id));
    ASSERT_THAT(wallet, IsOk());
    const int64_t read_version = wallet->version();
    ASSERT_THAT(wallet->Credit(*Money::Positive(10, "EUR"), absl::Now()), IsOk());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // Widen the race window.
    absl::Status saved = wallets_->Save(*ctx, *wallet, read_version);
    if (saved.ok()) {
      ++won;
    } else {
      EXPECT_THAT(saved, StatusIs(absl::StatusCode::kAborted, reason::kVersionConflict));
      ++conflicted;
    }
  });
  EXPECT_GE(won.load(), 1);
  EXPECT_GE(conflicted.load(), 1) << "the race never happened: widen the window";
  EXPECT_EQ(BalanceOf(id), 10 * won.load());
}

TEST_F(ConcurrencyTest, OppositeTransfersNeverDeadlock) {
  std::string a = NewWallet(1'000'000), b = NewWallet(1'000'000);
  std::atomic<int> failed{0};
  RunConcurrently(32, [&](int client) {
    for (int k = 0; k < 20; ++k) {
      auto ctx = Ctx();
      const bool forward = client % 2 == 0;
      auto result = (*transfer_)(*ctx, {absl::StrCat("opp-", client, "-", k), forward ? a : b,
                                        forward ? b : a, 1 + k, "EUR"});
      if (!result.ok()) {
        ADD_FAILURE() << result.status();
        ++failed;
      }
    }
  });
  EXPECT_EQ(failed.load(), 0);
  // Ordered locking means no deadlock even reached the Transactor's retry loop.
  EXPECT_EQ(transactor_->stats().retries, 0);
  EXPECT_EQ(BalanceOf(a) + BalanceOf(b), 2'000'000);
  ExpectLedgerMatchesBalances();
}

TEST_F(ConcurrencyTest, SerializableConflictsAreRetriedAndEveryTransferLandsOnce) {
  StackOptions options = DefaultOptions();
  options.tx.isolation = Isolation::kSerializable;
  options.retry.attempts_max = 100;
  options.retry.backoff_max = absl::Milliseconds(20);
  Rebuild(options);
  std::vector<std::string> wallets;
  for (int i = 0; i < 4; ++i) wallets.push_back(NewWallet(100'000));
  const int64_t before = Sum(wallets);
  const auto retries_before = transactor_->stats().retries;
  auto errors = RandomTransfers(wallets, /*clients=*/64, /*per_client=*/5, "ser");
  const int64_t retries = transactor_->stats().retries - retries_before;
  std::cout << "serialization failures retried: " << retries << " for 320 transfers\n";
  EXPECT_TRUE(errors.empty()) << "first error: " << errors.begin()->first;
  EXPECT_GT(retries, 0) << "no serialization failure happened: the test proves nothing";
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE request_id LIKE 'ser-%'"), 320);
  EXPECT_EQ(Sum(wallets), before);
  ExpectLedgerMatchesBalances();
}

TEST_F(ConcurrencyTest, SameRequestTwentyTimesAtOnceMovesMoneyOnce) {
  std::string a = NewWallet(1000), b = NewWallet(0);
  std::mutex mu;
  std::vector<TransferHandler::Result> results;
  RunConcurrently(20, [&](int) {
    auto ctx = Ctx();
    auto result = (*transfer_)(*ctx, {"pay-once", a, b, 100, "EUR"});
    ASSERT_THAT(result, IsOk());
    std::lock_guard lock(mu);
    results.push_back(*result);
  });
  ASSERT_EQ(results.size(), 20u);
  int originals = 0;
  for (const auto& r : results) {
    originals += r.replayed ? 0 : 1;
    EXPECT_EQ(r.transfer.id, results[0].transfer.id);
    EXPECT_EQ(r.transfer.created_at, results[0].transfer.created_at);
    EXPECT_EQ(r.balance_after, 900);
  }
  EXPECT_EQ(originals, 1);
  EXPECT_EQ(BalanceOf(a), 900);
  EXPECT_EQ(BalanceOf(b), 100);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE request_id = 'pay-once'"), 1);
  auto ctx = Ctx();
  EXPECT_THAT((*transfer_)(*ctx, {"pay-once", a, b, 101, "EUR"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kIdempotencyKeyReused));
  EXPECT_THAT((*transfer_)(*ctx, {"pay-once", b, a, 100, "EUR"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kIdempotencyKeyReused));
  EXPECT_EQ(BalanceOf(a), 900);
  ExpectLedgerMatchesBalances();
}

TEST_F(ConcurrencyTest, ConcurrentWithdrawalsTakeExactlyWhatFits) {
  std::string a = NewWallet(100);
  std::atomic<int> ok{0}, refused{0};
  RunConcurrently(30, [&](int i) {
    auto ctx = Ctx();
    auto result = (*withdraw_)(*ctx, {absl::StrCat("wd-", i), a, 7, "EUR"});
    if (result.ok()) {
      ++ok;
    } else {
      EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition,
                                   reason::kInsufficientFunds));
      ++refused;
    }
  });
  EXPECT_EQ(ok.load(), 14);
  EXPECT_EQ(refused.load(), 16);
  EXPECT_EQ(BalanceOf(a), 2);
  ExpectLedgerMatchesBalances();
}

}  // namespace
}  // namespace walletd::testing
