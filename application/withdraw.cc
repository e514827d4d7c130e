#include "application/withdraw.h"

#include "domain/status_macros.h"

namespace walletd {

absl::StatusOr<WithdrawHandler::Result> WithdrawHandler::operator()(Context& ctx, const Command& command) {
  ASSIGN_OR_RETURN(Movement movement,
                   Movement::Withdrawal(command.request_id, command.wallet_id, command.amount,
                                        command.currency));
  return MoveMoney(ports_, ctx, movement, *movement.from());
}

}  // namespace walletd
