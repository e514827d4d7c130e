#include "application/balance.h"

#include "application/authorize.h"
#include "domain/status_macros.h"

namespace walletd {

absl::StatusOr<BalanceHandler::Result> BalanceHandler::operator()(Context& ctx,
                                                                  const Command& command) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireScope(ctx, Scope::kRead));
  ASSIGN_OR_RETURN(WalletId id, WalletId::Parse(command.wallet_id));
  RETURN_IF_ERROR(ctx.Alive());
  ASSIGN_OR_RETURN(Wallet wallet, wallets_.Get(ctx, id));
  RETURN_IF_ERROR(CheckReaches(*caller, wallet));
  return wallet;
}

}  // namespace walletd
