#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "domain/wallet.h"
#include "ports/clock.h"
#include "ports/context.h"
#include "ports/id_generator.h"
#include "ports/wallet_repository.h"

namespace walletd {

// Opens an empty wallet in one currency. Idempotent by request id: a replay returns the wallet the
// first request created (as it is now).
class CreateWalletHandler {
 public:
  struct Command {
    std::string request_id;
    std::string currency;
  };
  struct Result {
    Wallet wallet;
    bool replayed = false;
  };

  CreateWalletHandler(WalletRepository& wallets, Clock& clock, IdGenerator& ids)
      : wallets_(wallets), clock_(clock), ids_(ids) {}

  // INVALID_ARGUMENT for a bad request id or currency; FAILED_PRECONDITION/IDEMPOTENCY_KEY_REUSED
  // when the request id created a wallet of another currency; storage errors otherwise.
  absl::StatusOr<Result> operator()(Context& ctx, const Command& command);

 private:
  WalletRepository& wallets_;
  Clock& clock_;
  IdGenerator& ids_;
};

}  // namespace walletd
