#pragma once
// The one transaction every deposit, withdrawal and transfer runs, with its idempotency rules.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "domain/transfer.h"
#include "ports/clock.h"
#include "ports/context.h"
#include "ports/id_generator.h"
#include "ports/transactor.h"
#include "ports/transfer_repository.h"
#include "ports/wallet_repository.h"

namespace walletd {

// The ports a movement of money needs; all outlive the use cases that hold this.
struct MovePorts {
  Transactor& transactor;
  WalletRepository& wallets;
  TransferRepository& transfers;
  Clock& clock;
  IdGenerator& ids;
  TxOptions tx_options;
};

// A deposit or a withdrawal: money into or out of one wallet.
struct OneWalletCommand {
  std::string request_id;
  std::string wallet_id;
  int64_t amount = 0;
  std::string currency;
};

struct MoveResult {
  Transfer transfer;
  int64_t balance_after = 0;  // The reported wallet's balance right after the transfer.
  bool replayed = false;      // True when the request id had already been served: nothing moved.
};

// Locks the movement's wallets in id order, applies it, writes the wallets and the ledger record,
// all in one transaction, for `caller` (who holds wallets:write). A wallet of a tenant the caller
// does not reach is NOT_FOUND/WALLET_NOT_FOUND as if it did not exist; wallets of two tenants are
// FAILED_PRECONDITION/TENANT_MISMATCH. The request id makes it idempotent within the tenant: when
// it was already served with the same payload the original transfer comes back (replayed) and no
// money moves; with another payload the answer is FAILED_PRECONDITION/IDEMPOTENCY_KEY_REUSED. The
// result reports the balance of `reported`, one of the movement's wallets, right after the
// transfer.
absl::StatusOr<MoveResult> MoveMoney(const MovePorts& ports, Context& ctx, const Caller& caller,
                                     const Movement& movement, const WalletId& reported);

}  // namespace walletd
