#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "application/move_money.h"

namespace walletd {

// Takes money out of a wallet to outside the ledger (a payout).
class WithdrawHandler {
 public:
  using Command = OneWalletCommand;
  // balance_after is the source wallet's.
  using Result = MoveResult;

  explicit WithdrawHandler(MovePorts ports) : ports_(ports) {}

  // UNAUTHENTICATED; PERMISSION_DENIED/MISSING_SCOPE (wallets:write); INVALID_ARGUMENT for bad
  // input; NOT_FOUND/WALLET_NOT_FOUND (also for another tenant's); FAILED_PRECONDITION for
  // INSUFFICIENT_FUNDS, CURRENCY_MISMATCH, IDEMPOTENCY_KEY_REUSED; the Transactor's errors
  // otherwise.
  absl::StatusOr<Result> operator()(Context& ctx, const Command& command);

 private:
  MovePorts ports_;
};

}  // namespace walletd
