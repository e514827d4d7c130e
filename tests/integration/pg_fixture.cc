#include "tests/integration/pg_fixture.h"

#include <unistd.h>

#include <atomic>

#include "absl/random/random.h"
#include "domain/status_macros.h"

namespace walletd::testing {

std::string BaseDsn() {
  const char* dsn = std::getenv("WALLETD_TEST_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    ADD_FAILURE() << "WALLETD_TEST_DSN is not set. Integration tests need a real PostgreSQL: run "
                     "tests/run, which starts one, or export WALLETD_TEST_DSN=<libpq conninfo>.";
    return "";
  }
  return dsn;
}

Sql::Sql(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to " << dsn << ": " << PQerrorMessage(conn_);
    return;
  }
  Exec("SET statement_timeout = '60s'");
  Exec("SET client_min_messages = warning");
}

Sql::~Sql() { PQfinish(conn_); }

PGresult* Sql::Raw(const std::string& sql) { return PQexec(conn_, sql.c_str()); }

void Sql::Exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const ExecStatusType s = PQresultStatus(r);
  EXPECT_TRUE(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
      << sql << ": " << PQresultErrorMessage(r);
  PQclear(r);
}

std::string Sql::Value(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  std::string out;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
  } else if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
    out = PQgetvalue(r, 0, 0);
  }
  PQclear(r);
  return out;
}

void PgTest::SetUp() {
  const std::string base = BaseDsn();
  ASSERT_FALSE(base.empty());
  static std::atomic<int> counter{0};
  schema_ = absl::StrCat("it_", getpid(), "_", counter.fetch_add(1), "_",
                         absl::Uniform<uint32_t>(absl::BitGen()));
  {
    Sql admin(base);
    admin.Exec("CREATE SCHEMA " + schema_);
  }
  // Each test's sessions carry its schema as application_name: tests run in parallel binaries.
  dsn_ = absl::StrCat(base, " application_name=", schema_, " options='-csearch_path=", schema_,
                      "'");
  ASSERT_THAT(pg::Migrate(dsn_, pg::EmbeddedMigrations(), absl::Now() + absl::Seconds(30)), IsOk());
  sql_ = std::make_unique<Sql>(absl::StrCat(base, " options='-csearch_path=", schema_, "'"));
  Rebuild(DefaultOptions());
}

void PgTest::TearDown() {
  ResetStack();
  if (sql_ != nullptr) sql_->Exec("DROP SCHEMA " + schema_ + " CASCADE");
}

StackOptions PgTest::DefaultOptions() const {
  StackOptions options;
  options.pool.dsn = dsn_;
  options.pool.size_min = 0;
  options.pool.size_max = 8;
  options.pool.acquire_wait_max = absl::Seconds(20);
  return options;
}

// Users before what they use: handlers, repositories, transactor, executor, pool.
void PgTest::ResetStack() {
  create_wallet_.reset();
  deposit_.reset();
  withdraw_.reset();
  transfer_.reset();
  balance_.reset();
  transfers_.reset();
  wallets_.reset();
  transactor_.reset();
  executor_.reset();
  pool_.reset();
}

void PgTest::Rebuild(const StackOptions& options) {
  ResetStack();
  Metrics& metrics = options.metrics != nullptr ? *options.metrics : NoMetrics();
  pool_ = std::make_unique<pg::Pool>(options.pool, metrics);
  executor_ = std::make_unique<pg::Executor>(*pool_, options.timeouts);
  transactor_ =
      std::make_unique<pg::Transactor>(*pool_, options.timeouts, options.retry, metrics);
  wallets_ = std::make_unique<pg::WalletRepository>(*executor_);
  transfers_ = std::make_unique<pg::TransferRepository>(*executor_);
  MovePorts ports{*transactor_, *wallets_, *transfers_, clock_, ids_, options.tx};
  create_wallet_ = std::make_unique<CreateWalletHandler>(*wallets_, clock_, ids_);
  deposit_ = std::make_unique<DepositHandler>(ports);
  withdraw_ = std::make_unique<WithdrawHandler>(ports);
  transfer_ = std::make_unique<TransferHandler>(ports);
  balance_ = std::make_unique<BalanceHandler>(*wallets_);
}

std::string PgTest::NewWallet(int64_t balance, const std::string& currency) {
  static std::atomic<int> counter{0};
  const std::string n = std::to_string(counter.fetch_add(1));
  auto ctx = Ctx();
  auto created = (*create_wallet_)(*ctx, {"open-" + n, currency, ""});
  EXPECT_THAT(created, IsOk());
  if (!created.ok()) return "";
  const std::string id = created->wallet.id().str();
  if (balance > 0) {
    EXPECT_THAT((*deposit_)(*ctx, {"seed-" + n, id, balance, currency}), IsOk());
  }
  return id;
}

int64_t PgTest::BalanceOf(const std::string& wallet_id) {
  auto ctx = Ctx();
  auto wallet = (*balance_)(*ctx, {wallet_id});
  EXPECT_THAT(wallet, IsOk());
  return wallet.ok() ? wallet->balance() : -1;
}

int64_t PgTest::IdleInTransaction() {
  return sql_->Int(absl::StrCat(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = '", schema_,
      "' AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"));
}

void PgTest::ExpectLedgerMatchesBalances() {
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM wallets WHERE balance < 0"), 0);
  // The latest posting of each wallet carries its balance and version.
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM wallets w JOIN LATERAL (SELECT * FROM entries e "
                      "WHERE e.wallet_id = w.id ORDER BY e.version DESC LIMIT 1) last ON true "
                      "WHERE last.balance_after <> w.balance OR last.version <> w.version"),
            0);
  // Postings sum to the balance, and versions 1..n have no gap.
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM wallets w LEFT JOIN (SELECT wallet_id, sum(amount) s, "
                      "count(*) n, max(version) m FROM entries GROUP BY wallet_id) e "
                      "ON e.wallet_id = w.id WHERE coalesce(e.s, 0) <> w.balance "
                      "OR coalesce(e.n, 0) <> w.version OR coalesce(e.m, 0) <> w.version"),
            0);
  // A transfer's postings (two or more) cancel out; a deposit adds and a withdrawal removes its
  // amount.
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers t JOIN (SELECT transfer_id, sum(amount) s, "
                      "count(*) n FROM entries GROUP BY transfer_id) e ON e.transfer_id = t.id "
                      "WHERE (t.kind = 'transfer' AND (e.s <> 0 OR e.n < 2)) "
                      "OR (t.kind = 'deposit' AND (e.s <> t.amount OR e.n <> 1)) "
                      "OR (t.kind = 'withdrawal' AND (e.s <> -t.amount OR e.n <> 1))"),
            0);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers t WHERE NOT EXISTS "
                      "(SELECT 1 FROM entries e WHERE e.transfer_id = t.id)"),
            0);
}

}  // namespace walletd::testing
