#include "application/deposit.h"

#include "application/authorize.h"
#include "domain/status_macros.h"

namespace walletd {

absl::StatusOr<DepositHandler::Result> DepositHandler::operator()(Context& ctx, const Command& command) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireScope(ctx, Scope::kWrite));
  ASSIGN_OR_RETURN(Movement movement,
                   Movement::Deposit(command.request_id, command.wallet_id, command.amount,
                                     command.currency));
  return MoveMoney(ports_, ctx, *caller, movement, *movement.to());
}

}  // namespace walletd
