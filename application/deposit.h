#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "application/move_money.h"

namespace walletd {

// Puts money into a wallet from outside the ledger (a top-up).
class DepositHandler {
 public:
  using Command = OneWalletCommand;
  // balance_after is the credited wallet's.
  using Result = MoveResult;

  explicit DepositHandler(MovePorts ports) : ports_(ports) {}

  // UNAUTHENTICATED; PERMISSION_DENIED/MISSING_SCOPE (wallets:write); INVALID_ARGUMENT for bad
  // input; NOT_FOUND/WALLET_NOT_FOUND (also for another tenant's); FAILED_PRECONDITION for
  // CURRENCY_MISMATCH, BALANCE_OVERFLOW, IDEMPOTENCY_KEY_REUSED; the Transactor's errors otherwise.
  absl::StatusOr<Result> operator()(Context& ctx, const Command& command);

 private:
  MovePorts ports_;
};

}  // namespace walletd
