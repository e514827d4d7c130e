#include "application/transfer.h"

#include "application/authorize.h"
#include "domain/status_macros.h"

namespace walletd {

absl::StatusOr<TransferHandler::Result> TransferHandler::operator()(Context& ctx, const Command& command) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireScope(ctx, Scope::kWrite));
  ASSIGN_OR_RETURN(Movement movement,
                   Movement::Transfer(command.request_id, command.from_wallet_id,
                                      command.to_wallet_id, command.amount, command.currency));
  return MoveMoney(ports_, ctx, *caller, movement, *movement.from());
}

}  // namespace walletd
