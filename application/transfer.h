#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "application/move_money.h"

namespace walletd {

// Moves money from one wallet to another of the same currency.
class TransferHandler {
 public:
  struct Command {
    std::string request_id;
    std::string from_wallet_id;
    std::string to_wallet_id;
    int64_t amount = 0;
    std::string currency;
  };
  // balance_after is the source wallet's.
  using Result = MoveResult;

  explicit TransferHandler(MovePorts ports) : ports_(ports) {}

  // UNAUTHENTICATED; PERMISSION_DENIED/MISSING_SCOPE (wallets:write); INVALID_ARGUMENT for bad
  // input or SAME_WALLET; NOT_FOUND/WALLET_NOT_FOUND (also for another tenant's wallet);
  // FAILED_PRECONDITION for INSUFFICIENT_FUNDS, CURRENCY_MISMATCH, BALANCE_OVERFLOW,
  // IDEMPOTENCY_KEY_REUSED, TENANT_MISMATCH (wallets of two tenants); the Transactor's errors
  // otherwise.
  absl::StatusOr<Result> operator()(Context& ctx, const Command& command);

 private:
  MovePorts ports_;
};

}  // namespace walletd
