#include "application/get_transfer.h"

#include "domain/status_macros.h"

namespace walletd {

absl::StatusOr<GetTransferHandler::Result> GetTransferHandler::operator()(
    Context& ctx, const Command& command) {
  ASSIGN_OR_RETURN(TransferId id, TransferId::Parse(command.transfer_id));
  RETURN_IF_ERROR(ctx.Alive());
  return transfers_.FindById(ctx, id);
}

}  // namespace walletd
