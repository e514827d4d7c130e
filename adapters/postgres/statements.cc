#include "adapters/postgres/statements.h"

#include "domain/status_macros.h"

namespace walletd::pg {
namespace {

#define WALLET_COLUMNS \
  "id, request_id, currency, balance, version, created_at, updated_at, tenant"
// A transfer row followed by up to two postings (debit and credit) and the transfer's tenant, as
// the repositories decode it.
#define TRANSFER_COLUMNS                                                                     \
  "t.id, t.request_id, t.kind, t.from_wallet_id, t.to_wallet_id, t.amount, t.currency, "   \
  "t.created_at, d.wallet_id, d.version, d.amount, d.balance_after, "                       \
  "c.wallet_id, c.version, c.amount, c.balance_after, t.tenant"
#define TRANSFER_POSTINGS                                                               \
  " LEFT JOIN entries d ON d.transfer_id = t.id AND d.wallet_id = t.from_wallet_id"   \
  " LEFT JOIN entries c ON c.transfer_id = t.id AND c.wallet_id = t.to_wallet_id"

constexpr std::array<SqlDef, static_cast<size_t>(Sql::kCount)> kDefinitions = {{
    {"begin_rc", "BEGIN ISOLATION LEVEL READ COMMITTED"},
    {"begin_rc_ro", "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"},
    {"begin_rr", "BEGIN ISOLATION LEVEL REPEATABLE READ"},
    {"begin_rr_ro", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"},
    {"begin_s", "BEGIN ISOLATION LEVEL SERIALIZABLE"},
    {"begin_s_ro", "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY"},
    {"commit", "COMMIT"},
    {"rollback", "ROLLBACK"},
    {"set_tx_timeouts",
     "SELECT set_config('statement_timeout', $1::text, true), "
     "set_config('idle_in_transaction_session_timeout', $2::text, true)"},
    {"set_stmt_timeout", "SELECT set_config('statement_timeout', $1::text, true)"},
    {"ping", "SELECT 1"},
    {"wallet_get", "SELECT " WALLET_COLUMNS " FROM wallets WHERE id = $1::uuid"},
    // ORDER BY before FOR UPDATE: rows are locked in id order, the one global lock order.
    {"wallet_lock",
     "SELECT " WALLET_COLUMNS " FROM wallets WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"},
    {"wallet_insert",
     "INSERT INTO wallets (" WALLET_COLUMNS ") VALUES ($1::uuid, $2::text, $3::text, $4::int8, "
     "$5::int8, $6::timestamptz, $7::timestamptz, $8::text)"},
    {"wallet_by_request",
     "SELECT " WALLET_COLUMNS " FROM wallets WHERE tenant = $1::text AND request_id = $2::text"},
    // The cast to wallet_version_check raises wallet_version_matches when no row had the expected
    // version, so a stale write fails inside the pipeline and the COMMIT behind it never runs.
    {"wallet_save",
     "WITH saved AS (UPDATE wallets SET balance = $2::int8, version = $3::int8, "
     "updated_at = $4::timestamptz WHERE id = $1::uuid AND version = $5::int8 RETURNING 1) "
     "SELECT (count(*) = 1)::wallet_version_check FROM saved"},
    // Two wallet_save at once; both rows must match, as each would have on its own.
    {"wallet_save_pair",
     "WITH saved AS (UPDATE wallets w SET balance = v.balance, version = v.version, "
     "updated_at = v.updated_at FROM (VALUES "
     "($1::uuid, $2::int8, $3::int8, $4::timestamptz, $5::int8), "
     "($6::uuid, $7::int8, $8::int8, $9::timestamptz, $10::int8)) "
     "AS v(id, balance, version, updated_at, expected) "
     "WHERE w.id = v.id AND w.version = v.expected RETURNING 1) "
     "SELECT (count(*) = 2)::wallet_version_check FROM saved"},
    // The transfer and its postings in one statement; foreign keys are checked at its end.
    {"transfer_insert",
     "WITH t AS (INSERT INTO transfers (id, request_id, kind, from_wallet_id, to_wallet_id, "
     "amount, currency, created_at, tenant) VALUES ($1::uuid, $2::text, $3::text, $4::uuid, "
     "$5::uuid, $6::int8, $7::text, $8::timestamptz, $13::text)) "
     "INSERT INTO entries (wallet_id, version, transfer_id, amount, balance_after) "
     "SELECT p.wallet_id, p.version, $1::uuid, p.amount, p.balance_after "
     "FROM unnest($9::uuid[], $10::int8[], $11::int8[], $12::int8[]) "
     "AS p(wallet_id, version, amount, balance_after)"},
    {"transfer_by_request",
     "SELECT " TRANSFER_COLUMNS " FROM transfers t" TRANSFER_POSTINGS
     " WHERE t.tenant = $1::text AND t.request_id = $2::text"},
    {"transfer_by_id",
     "SELECT " TRANSFER_COLUMNS " FROM transfers t" TRANSFER_POSTINGS " WHERE t.id = $1::uuid"},
    // Keyset pagination on the wallet's own version: stable while new transfers arrive.
    {"transfer_history",
     "SELECT " TRANSFER_COLUMNS " FROM entries e JOIN transfers t ON t.id = e.transfer_id"
     TRANSFER_POSTINGS
     " WHERE e.wallet_id = $1::uuid AND e.version < $2::int8 ORDER BY e.version DESC LIMIT $3::int8"},
    // Nothing in walletd reads this; the integration tests hold every statement to one plan.
    {"plan_counts",
     "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1::text"},
}};

}  // namespace

const SqlDef& Definition(Sql sql) {
  const auto index = static_cast<size_t>(sql);
  CHECK(index < kDefinitions.size());
  return kDefinitions[index];
}

bool Replayable(Sql sql) {
  switch (sql) {  // No default: a new statement must be placed here by the compiler's -Wswitch.
    case Sql::kPing:
    case Sql::kSetStatementTimeout:
    case Sql::kSetTransactionTimeouts:
    case Sql::kWalletGet:
    case Sql::kWalletByRequestId:
    case Sql::kWalletInsert:
    case Sql::kTransferByRequestId:
    case Sql::kTransferById:
    case Sql::kTransferHistory:
    case Sql::kPlanCounts:
      return true;
    case Sql::kBeginReadCommitted:
    case Sql::kBeginReadCommittedReadOnly:
    case Sql::kBeginRepeatableRead:
    case Sql::kBeginRepeatableReadReadOnly:
    case Sql::kBeginSerializable:
    case Sql::kBeginSerializableReadOnly:
    case Sql::kCommit:
    case Sql::kRollback:
    case Sql::kWalletLock:  // Only inside a transaction, which retries as a whole.
    case Sql::kWalletSave:
    case Sql::kWalletSavePair:
    case Sql::kTransferInsert:
    case Sql::kCount:
      return false;
  }
  return false;
}

Sql BeginFor(const TxOptions& options) {
  switch (options.isolation) {
    case Isolation::kReadCommitted:
      return options.read_only ? Sql::kBeginReadCommittedReadOnly : Sql::kBeginReadCommitted;
    case Isolation::kRepeatableRead:
      return options.read_only ? Sql::kBeginRepeatableReadReadOnly : Sql::kBeginRepeatableRead;
    case Isolation::kSerializable:
      return options.read_only ? Sql::kBeginSerializableReadOnly : Sql::kBeginSerializable;
  }
  CHECK(false);
}

bool Pair(Statement& first, Statement&& second) {
  // One UPDATE changes a row once: saves of the same wallet must stay two statements.
  if (first.sql != Sql::kWalletSave || second.sql != Sql::kWalletSave ||
      first.params.Same(0, second.params, 0)) {
    return false;
  }
  first.sql = Sql::kWalletSavePair;
  first.params.Append(std::move(second.params));
  return true;
}

}  // namespace walletd::pg
