#include "application/balance.h"

#include "domain/status_macros.h"

namespace walletd {

absl::StatusOr<BalanceHandler::Result> BalanceHandler::operator()(Context& ctx,
                                                                  const Command& command) {
  ASSIGN_OR_RETURN(WalletId id, WalletId::Parse(command.wallet_id));
  RETURN_IF_ERROR(ctx.Alive());
  return wallets_.Get(ctx, id);
}

}  // namespace walletd
