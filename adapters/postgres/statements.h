#pragma once
// Every SQL statement walletd runs, prepared once per connection when it opens. Repositories name
// a statement and pass its parameters; they never build SQL.

#include <array>
#include <string_view>

#include "adapters/postgres/pg_types.h"
#include "ports/transactor.h"

namespace walletd::pg {

enum class Sql : int {
  kBeginReadCommitted,
  kBeginReadCommittedReadOnly,
  kBeginRepeatableRead,
  kBeginRepeatableReadReadOnly,
  kBeginSerializable,
  kBeginSerializableReadOnly,
  kCommit,
  kRollback,
  kSetTransactionTimeouts,  // $1 statement_timeout ms, $2 idle_in_transaction ms (text).
  kSetStatementTimeout,     // $1 statement_timeout ms (text), local to the transaction.
  kPing,
  kWalletGet,
  kWalletLock,
  kWalletInsert,
  kWalletByRequestId,
  kWalletSave,  // Any number of distinct wallets, as parallel arrays; see Pair().
  kTransferInsert,
  kTransferByRequestId,
  kTransferById,
  kTransferHistory,
  kPlanCounts,  // $1 statement name: how often this session planned it generically and custom.
  kCount,
};

// The columns of a wallet row, as the wallet statements return them.
enum WalletColumn : int {
  kWalletId,
  kWalletRequestId,
  kWalletCurrency,
  kWalletBalance,
  kWalletVersion,
  kWalletCreatedAt,
  kWalletUpdatedAt,
  kWalletTenant,
  kWalletColumns,  // How many.
};

// The columns of a transfer row, as the transfer statements return them: the transfer, then its
// postings as parallel arrays (debits first, each group by wallet id), however many there are.
enum TransferColumn : int {
  kTransferId,
  kTransferRequestId,
  kTransferKind,
  kTransferAmount,
  kTransferCurrency,
  kTransferCreatedAt,
  kTransferTenant,
  kPostingWalletIds,
  kPostingVersions,
  kPostingAmounts,
  kPostingBalancesAfter,
  kTransferColumns,  // How many.
};

struct SqlDef {
  const char* name;  // The prepared statement's name.
  const char* text;
};

const SqlDef& Definition(Sql sql);
// Whether running the statement again, after a connection lost with its outcome unknown, has the
// effect of running it once: reads, and the wallet insert (a second run collides with the first
// on its id and request id, which CreateWallet answers as a replay).
bool Replayable(Sql sql);
Sql BeginFor(const TxOptions& options);

// One statement with its parameters, ready to be sent.
struct Statement {
  Sql sql;
  Params params;
};

// Folds `second` into `first` when one statement can do both with the same effect and the same
// errors, and says whether it did. Each statement costs the server an executor start and a
// parse of the table's CHECK constraints: wallet saves of distinct wallets become one.
bool Pair(Statement& first, Statement&& second);

}  // namespace walletd::pg
