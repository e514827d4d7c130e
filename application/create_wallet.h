#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "domain/wallet.h"
#include "ports/clock.h"
#include "ports/context.h"
#include "ports/id_generator.h"
#include "ports/wallet_repository.h"

namespace walletd {

// Opens an empty wallet in one currency, in the caller's tenant. Idempotent by request id within
// the tenant: a replay returns the wallet the first request created (as it is now).
class CreateWalletHandler {
 public:
  struct Command {
    std::string request_id;
    std::string currency;
    // The tenant to create it in: empty for the caller's own (the default tenant for a caller
    // reaching every tenant).
    std::string tenant = {};
  };
  struct Result {
    Wallet wallet;
    bool replayed = false;
  };

  CreateWalletHandler(WalletRepository& wallets, Clock& clock, IdGenerator& ids)
      : wallets_(wallets), clock_(clock), ids_(ids) {}

  // UNAUTHENTICATED, PERMISSION_DENIED (MISSING_SCOPE wallets:write, TENANT_FORBIDDEN: another
  // tenant named); INVALID_ARGUMENT for a bad request id, currency or tenant;
  // FAILED_PRECONDITION/IDEMPOTENCY_KEY_REUSED when the request id created a wallet of another
  // currency; storage errors otherwise.
  absl::StatusOr<Result> operator()(Context& ctx, const Command& command);

 private:
  WalletRepository& wallets_;
  Clock& clock_;
  IdGenerator& ids_;
};

}  // namespace walletd
