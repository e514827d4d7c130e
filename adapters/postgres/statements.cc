#include "adapters/postgres/statements.h"

#include "domain/status_macros.h"

namespace walletd::pg {
namespace {

// In WalletColumn order.
#define WALLET_COLUMNS \
  "id, request_id, currency, balance, version, created_at, updated_at, tenant"
// In TransferColumn order. The postings come aggregated per transfer, in the order the domain
// keeps legs in (debits first, each group by wallet id), so a transfer of any number of postings
// is one row and reads back exactly as it was written.
#define TRANSFER_COLUMNS                                                                    \
  "t.id, t.request_id, t.kind, t.amount, t.currency, t.created_at, t.tenant, "            \
  "p.wallet_ids, p.versions, p.amounts, p.balances_after"
#define POSTING_ORDER " ORDER BY e.amount > 0, e.wallet_id"
#define TRANSFER_POSTINGS                                                                   \
  " CROSS JOIN LATERAL (SELECT array_agg(e.wallet_id" POSTING_ORDER ") AS wallet_ids, "    \
  "array_agg(e.version" POSTING_ORDER ") AS versions, "                                   \
  "array_agg(e.amount" POSTING_ORDER ") AS amounts, "                                     \
  "array_agg(e.balance_after" POSTING_ORDER ") AS balances_after "                        \
  "FROM entries e WHERE e.transfer_id = t.id) p"

// The columns a select list names: its commas outside parentheses, plus one.
constexpr int ColumnsIn(std::string_view list) {
  int columns = 1, depth = 0;
  for (char c : list) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) ++columns;
  }
  return columns;
}
static_assert(ColumnsIn(WALLET_COLUMNS) == kWalletColumns);
static_assert(ColumnsIn(TRANSFER_COLUMNS) == kTransferColumns);

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
    // The cast to wallet_version_check raises wallet_version_matches unless every wallet had its
    // expected version, so a stale write fails inside the pipeline and the COMMIT behind it never
    // runs. The wallets are distinct: one UPDATE changes a row once.
    {"wallet_save",
     "WITH saved AS (UPDATE wallets w SET balance = v.balance, version = v.version, "
     "updated_at = v.updated_at FROM unnest($1::uuid[], $2::int8[], $3::int8[], "
     "$4::timestamptz[], $5::int8[]) AS v(id, balance, version, updated_at, expected) "
     "WHERE w.id = v.id AND w.version = v.expected RETURNING 1) "
     "SELECT (count(*) = cardinality($1::uuid[]))::wallet_version_check FROM saved"},
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
     "SELECT " TRANSFER_COLUMNS " FROM entries h JOIN transfers t ON t.id = h.transfer_id"
     TRANSFER_POSTINGS
     " WHERE h.wallet_id = $1::uuid AND h.version < $2::int8 ORDER BY h.version DESC LIMIT $3::int8"},
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
      first.params.Overlap(0, second.params, 0)) {
    return false;
  }
  first.params.Concat(std::move(second.params));
  return true;
}

}  // namespace walletd::pg
