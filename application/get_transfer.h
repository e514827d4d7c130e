#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "domain/transfer.h"
#include "ports/context.h"
#include "ports/transfer_repository.h"

namespace walletd {

// Reads one transfer with its postings.
class GetTransferHandler {
 public:
  struct Command {
    std::string transfer_id;
  };
  using Result = Transfer;

  explicit GetTransferHandler(TransferRepository& transfers) : transfers_(transfers) {}

  // UNAUTHENTICATED; PERMISSION_DENIED/MISSING_SCOPE (wallets:read); INVALID_ARGUMENT/
  // INVALID_TRANSFER_ID; NOT_FOUND/TRANSFER_NOT_FOUND (also for another tenant's transfer);
  // storage errors otherwise.
  absl::StatusOr<Result> operator()(Context& ctx, const Command& command);

 private:
  TransferRepository& transfers_;
};

}  // namespace walletd
