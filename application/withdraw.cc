#include "application/withdraw.h"

#include "application/authorize.h"
#include "domain/status_macros.h"

namespace walletd {

absl::StatusOr<WithdrawHandler::Result> WithdrawHandler::operator()(Context& ctx, const Command& command) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireScope(ctx, Scope::kWrite));
  ASSIGN_OR_RETURN(Movement movement,
                   Movement::Withdrawal(command.request_id, command.wallet_id, command.amount,
                                        command.currency));
  return MoveMoney(ports_, ctx, *caller, movement, *movement.from());
}

}  // namespace walletd
