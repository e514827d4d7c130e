#include "application/get_transfer.h"

#include "application/authorize.h"
#include "domain/status_macros.h"

namespace walletd {

absl::StatusOr<GetTransferHandler::Result> GetTransferHandler::operator()(
    Context& ctx, const Command& command) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireScope(ctx, Scope::kRead));
  ASSIGN_OR_RETURN(TransferId id, TransferId::Parse(command.transfer_id));
  RETURN_IF_ERROR(ctx.Alive());
  ASSIGN_OR_RETURN(Transfer transfer, transfers_.FindById(ctx, id));
  RETURN_IF_ERROR(CheckReaches(*caller, transfer));
  return transfer;
}

}  // namespace walletd
