#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "domain/wallet.h"
#include "ports/context.h"
#include "ports/wallet_repository.h"

namespace walletd {

// Reads a wallet's committed balance: never a transfer still in flight.
class BalanceHandler {
 public:
  struct Command {
    std::string wallet_id;
  };
  using Result = Wallet;

  explicit BalanceHandler(WalletRepository& wallets) : wallets_(wallets) {}

  // UNAUTHENTICATED; PERMISSION_DENIED/MISSING_SCOPE (wallets:read); INVALID_ARGUMENT/
  // INVALID_WALLET_ID; NOT_FOUND/WALLET_NOT_FOUND (also for another tenant's wallet); storage
  // errors otherwise.
  absl::StatusOr<Result> operator()(Context& ctx, const Command& command);

 private:
  WalletRepository& wallets_;
};

}  // namespace walletd
