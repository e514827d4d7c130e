// Every named constraint of the schema, violated on a real server, maps to its domain error; and
// the SQLSTATE classes map to their codes. A constraint added without a row here fails the test.

#include <set>

#include "absl/strings/match.h"
#include "adapters/postgres/errors.h"
#include "tests/integration/pg_fixture.h"

namespace walletd::testing {
namespace {

struct Case {
  std::string constraint;
  std::string sql;  // Violates `constraint` (after the fixture rows exist).
  absl::StatusCode code;
  std::string_view reason;
};

constexpr char kW1[] = "00000000-0000-7000-8000-000000000001";
constexpr char kW2[] = "00000000-0000-7000-8000-000000000002";
constexpr char kT1[] = "00000000-0000-7000-8000-0000000000f1";
constexpr char kMissing[] = "00000000-0000-7000-8000-00000000dead";

std::string Wallet(const std::string& id, const std::string& rid, const std::string& currency = "EUR",
                   const std::string& balance = "0", const std::string& version = "0") {
  return absl::StrCat("INSERT INTO wallets VALUES ('", id, "', '", rid, "', '", currency, "', ",
                      balance, ", ", version, ", now(), now())");
}
std::string Transfer(const std::string& id, const std::string& rid, const std::string& kind,
                     const std::string& from, const std::string& to, const std::string& amount,
                     const std::string& currency = "EUR") {
  return absl::StrCat("INSERT INTO transfers VALUES ('", id, "', '", rid, "', '", kind, "', ",
                      from, ", ", to, ", ", amount, ", '", currency, "', now())");
}
std::string Entry(const std::string& wallet, const std::string& version,
                  const std::string& transfer, const std::string& amount,
                  const std::string& balance_after) {
  return absl::StrCat("INSERT INTO entries VALUES ('", wallet, "', ", version, ", '", transfer,
                      "', ", amount, ", ", balance_after, ")");
}
// A deposit into `to` recorded in `tenant`.
std::string TenantTransfer(const std::string& id, const std::string& rid, const std::string& to,
                           const std::string& tenant) {
  return absl::StrCat("INSERT INTO transfers (id, request_id, kind, from_wallet_id, to_wallet_id, "
                      "amount, currency, created_at, tenant) VALUES ('", id, "', '", rid,
                      "', 'deposit', NULL, ", to, ", 5, 'EUR', now(), '", tenant, "')");
}
std::string Q(const char* id) { return absl::StrCat("'", id, "'"); }

class ConstraintsTest : public PgTest {};

TEST_F(ConstraintsTest, EveryNamedConstraintMapsToItsDomainError) {
  sql_->Exec(Wallet(kW1, "w1"));
  sql_->Exec(Wallet(kW2, "w2"));
  sql_->Exec(Transfer(kT1, "t1", "deposit", "NULL", Q(kW1), "5"));
  sql_->Exec(Entry(kW1, "1", kT1, "5", "5"));
  using C = absl::StatusCode;
  const std::string t2 = "00000000-0000-7000-8000-0000000000f2";
  const std::vector<Case> cases = {
      // A wallet insert run again after a lost connection: CreateWallet finds it by request id.
      {"wallets_pkey", Wallet(kW1, "other"), C::kAlreadyExists, reason::kDuplicateRequestId},
      {"wallets_tenant_request_id_key", Wallet(kMissing, "w1"), C::kAlreadyExists,
       reason::kDuplicateRequestId},
      {"wallets_tenant_name",
       absl::StrCat("INSERT INTO wallets (id, request_id, currency, balance, version, created_at, "
                    "updated_at, tenant) VALUES ('", kMissing, "', 'w3', 'EUR', 0, 0, now(), "
                    "now(), 'Shop')"),
       C::kInvalidArgument, reason::kInvalidTenant},
      {"wallets_request_id_length", Wallet(kMissing, ""), C::kInvalidArgument, reason::kInvalidRequestId},
      {"wallets_currency_code", Wallet(kMissing, "w3", "eur"), C::kInvalidArgument, reason::kInvalidCurrency},
      {"wallets_balance_nonnegative", Wallet(kMissing, "w3", "EUR", "-1"), C::kFailedPrecondition,
       reason::kInsufficientFunds},
      {"wallets_version_nonnegative", Wallet(kMissing, "w3", "EUR", "0", "-1"), C::kInternal,
       reason::kInternal},
      {"wallet_version_matches", "SELECT false::wallet_version_check", C::kAborted,
       reason::kVersionConflict},
      {"transfers_pkey", Transfer(kT1, "t9", "deposit", "NULL", Q(kW1), "5"), C::kInternal,
       reason::kInternal},
      {"transfers_tenant_request_id_key", Transfer(t2, "t1", "deposit", "NULL", Q(kW1), "5"),
       C::kAlreadyExists, reason::kDuplicateRequestId},
      {"transfers_tenant_name", TenantTransfer(t2, "t2", Q(kW1), "*"), C::kInvalidArgument,
       reason::kInvalidTenant},
      // A transfer in another tenant than its wallet's: the composite foreign key refuses it.
      {"transfers_to_wallet_fkey", TenantTransfer(t2, "t2", Q(kW1), "other"), C::kNotFound,
       reason::kWalletNotFound},
      {"transfers_request_id_length", Transfer(t2, "", "deposit", "NULL", Q(kW1), "5"),
       C::kInvalidArgument, reason::kInvalidRequestId},
      {"transfers_amount_positive", Transfer(t2, "t2", "deposit", "NULL", Q(kW1), "0"),
       C::kInvalidArgument, reason::kInvalidAmount},
      {"transfers_currency_code", Transfer(t2, "t2", "deposit", "NULL", Q(kW1), "5", "E1R"),
       C::kInvalidArgument, reason::kInvalidCurrency},
      {"transfers_kind_shape", Transfer(t2, "t2", "deposit", Q(kW2), Q(kW1), "5"), C::kInternal,
       reason::kInternal},
      {"transfers_distinct_wallets", Transfer(t2, "t2", "transfer", Q(kW1), Q(kW1), "5"),
       C::kInvalidArgument, reason::kSameWallet},
      {"transfers_from_wallet_fkey", Transfer(t2, "t2", "withdrawal", Q(kMissing), "NULL", "5"),
       C::kNotFound, reason::kWalletNotFound},
      {"transfers_to_wallet_fkey", Transfer(t2, "t2", "deposit", "NULL", Q(kMissing), "5"),
       C::kNotFound, reason::kWalletNotFound},
      {"entries_pkey", Entry(kW1, "1", kT1, "5", "5"), C::kAborted, reason::kVersionConflict},
      {"entries_version_positive", Entry(kW1, "0", kT1, "5", "5"), C::kInternal, reason::kInternal},
      {"entries_amount_nonzero", Entry(kW1, "2", kT1, "0", "5"), C::kInvalidArgument,
       reason::kInvalidAmount},
      {"entries_balance_after_nonnegative", Entry(kW1, "2", kT1, "-5", "-1"),
       C::kFailedPrecondition, reason::kInsufficientFunds},
      {"entries_wallet_fkey", Entry(kMissing, "1", kT1, "5", "5"), C::kNotFound,
       reason::kWalletNotFound},
      {"entries_transfer_fkey", Entry(kW2, "1", t2, "5", "5"), C::kInternal, reason::kInternal},
      // Only reachable without the primary key, which every duplicate (id, tenant) hits first:
      // dropped inside a transaction rolled back below.
      {"wallets_id_tenant_key",
       absl::StrCat("BEGIN; ALTER TABLE wallets DROP CONSTRAINT wallets_pkey CASCADE; ",
                    Wallet(kW1, "w9")),
       C::kAlreadyExists, reason::kDuplicateRequestId},
  };
  std::set<std::string> tested;
  for (const Case& c : cases) {
    PGresult* r = sql_->Raw(c.sql);
    const pg::ServerError error = pg::ServerErrorOf(r);
    PQclear(r);
    if (absl::StartsWith(c.sql, "BEGIN")) sql_->Exec("ROLLBACK");
    EXPECT_EQ(error.constraint, c.constraint) << c.sql << ": " << error.message;
    EXPECT_THAT(pg::StatusOf(error), StatusIs(c.code, c.reason)) << c.constraint;
    tested.insert(c.constraint);
  }
  // Every constraint the migrations declare (tables and domains of this schema) has a case.
  PGresult* all = sql_->Raw(
      "SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace "
      "AND conname NOT LIKE 'walletd_schema_migrations%'");
  ASSERT_EQ(PQresultStatus(all), PGRES_TUPLES_OK);
  for (int i = 0; i < PQntuples(all); ++i) {
    EXPECT_TRUE(tested.count(PQgetvalue(all, i, 0))) << "untested constraint " << PQgetvalue(all, i, 0);
  }
  EXPECT_EQ(PQntuples(all), static_cast<int>(tested.size()));
  PQclear(all);
}

TEST_F(ConstraintsTest, SqlStateClassesMapToCodes) {
  using C = absl::StatusCode;
  const std::vector<std::pair<std::string, std::pair<C, std::string_view>>> states = {
      {"40001", {C::kAborted, reason::kTransactionConflict}},
      {"40P01", {C::kAborted, reason::kTransactionConflict}},
      {"57014", {C::kDeadlineExceeded, reason::kDeadlineExceeded}},
      {"55P03", {C::kDeadlineExceeded, reason::kDeadlineExceeded}},
      {"08006", {C::kUnavailable, reason::kDatabaseUnavailable}},
      {"57P01", {C::kUnavailable, reason::kDatabaseUnavailable}},
      {"57P03", {C::kUnavailable, reason::kDatabaseUnavailable}},
      {"53300", {C::kUnavailable, reason::kDatabaseUnavailable}},
      {"25006", {C::kUnavailable, reason::kDatabaseUnavailable}},
      {"25P03", {C::kUnavailable, reason::kDatabaseUnavailable}},
      {"", {C::kUnavailable, reason::kDatabaseUnavailable}},
      {"42P01", {C::kInternal, reason::kInternal}},
      {"23502", {C::kInternal, reason::kInternal}},
  };
  for (const auto& [state, expected] : states) {
    EXPECT_THAT(pg::StatusOf(pg::ServerError{state, "", "x"}),
                StatusIs(expected.first, expected.second))
        << state;
    EXPECT_EQ(pg::IsRetryable(state), state == "40001" || state == "40P01") << state;
  }
  // And one for real: statement_timeout reports 57014.
  sql_->Exec("SET statement_timeout = 10");
  PGresult* r = sql_->Raw("SELECT pg_sleep(1)");
  EXPECT_THAT(pg::StatusOf(pg::ServerErrorOf(r)),
              StatusIs(C::kDeadlineExceeded, reason::kDeadlineExceeded));
  PQclear(r);
  sql_->Exec("SET statement_timeout = '60s'");
}

}  // namespace
}  // namespace walletd::testing
