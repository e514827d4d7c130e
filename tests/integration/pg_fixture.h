#pragma once
// Integration tests run against the PostgreSQL named by WALLETD_TEST_DSN (tests/run starts a
// throwaway server and sets it). Each test gets a schema of its own, migrated from scratch.

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "adapters/postgres/migrator.h"
#include "adapters/postgres/pool.h"
#include "adapters/postgres/repositories.h"
#include "adapters/postgres/transactor.h"
#include "adapters/system/system.h"
#include "application/balance.h"
#include "application/create_wallet.h"
#include "application/deposit.h"
#include "application/transfer.h"
#include "application/withdraw.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace walletd::testing {

// WALLETD_TEST_DSN, or a test failure saying how to get one: never a silent skip.
std::string BaseDsn();

// A blocking side connection for setting up and inspecting state behind the service's back.
class Sql {
 public:
  explicit Sql(const std::string& dsn);
  ~Sql();
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;

  // Runs `sql` and fails the test on error.
  void Exec(const std::string& sql);
  // Runs `sql` and returns its error, or OK.
  PGresult* Raw(const std::string& sql);
  // The first column of the first row, as text ("" when there is no row).
  std::string Value(const std::string& sql);
  int64_t Int(const std::string& sql) { return std::stoll(Value(sql)); }
  int backend_pid() const { return PQbackendPID(conn_); }

 private:
  PGconn* conn_;
};

struct StackOptions {
  pg::PoolOptions pool;
  pg::Timeouts timeouts;
  pg::RetryOptions retry;
  TxOptions tx;
  Metrics* metrics = nullptr;  // What the pool and the Transactor report to; none when null.
};

// A migrated schema with the whole Postgres adapter and the use cases wired on top.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Rebuilds pool, transactor and handlers with `options` (the schema stays).
  void Rebuild(const StackOptions& options);
  void ResetStack();
  StackOptions DefaultOptions() const;

  // A context with `timeout` left, of a caller reaching every tenant with every scope.
  static std::unique_ptr<Context> Ctx(absl::Duration timeout = absl::Seconds(30)) {
    auto ctx = std::make_unique<Context>(absl::Now() + timeout, "it");
    ctx->set_caller(&Platform());
    return ctx;
  }
  static const Caller& Platform() {
    static const Caller* const platform = new Caller(Caller::Unrestricted("it"));
    return *platform;
  }

  // Creates a wallet and deposits `balance` into it; returns its id.
  std::string NewWallet(int64_t balance, const std::string& currency = "EUR");
  int64_t BalanceOf(const std::string& wallet_id);

  // The service's sessions of this test idle inside a transaction.
  int64_t IdleInTransaction();

  // Checks the ledger against the balances: every wallet's latest posting carries its balance
  // and version, its postings sum to its balance, versions form an unbroken chain, no balance is
  // negative, and every transfer's postings sum to zero (or to +/- amount for deposits and
  // withdrawals).
  void ExpectLedgerMatchesBalances();

  std::string schema_;
  std::string dsn_;  // BaseDsn() with search_path and application_name set to schema_.
  // Selects this test's service sessions in pg_stat_activity ("application_name = '...'").
  std::string Mine() const { return "application_name = '" + schema_ + "'"; }
  std::unique_ptr<Sql> sql_;

  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<pg::Executor> executor_;
  std::unique_ptr<pg::Transactor> transactor_;
  std::unique_ptr<pg::WalletRepository> wallets_;
  std::unique_ptr<pg::TransferRepository> transfers_;
  SystemClock clock_;
  UuidV7Generator ids_;
  std::unique_ptr<CreateWalletHandler> create_wallet_;
  std::unique_ptr<DepositHandler> deposit_;
  std::unique_ptr<WithdrawHandler> withdraw_;
  std::unique_ptr<TransferHandler> transfer_;
  std::unique_ptr<BalanceHandler> balance_;
};

}  // namespace walletd::testing
