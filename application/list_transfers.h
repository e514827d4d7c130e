#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/transfer.h"
#include "ports/context.h"
#include "ports/transfer_repository.h"
#include "ports/wallet_repository.h"

namespace walletd {

// A wallet's history, newest first, a page at a time. Pages are cut by the wallet's version, so a
// transfer committed while a client pages never shifts or repeats an entry.
class ListTransfersHandler {
 public:
  static constexpr int kPageSizeDefault = 50;
  static constexpr int kPageSizeMax = 500;

  struct Command {
    std::string wallet_id;
    int page_size = 0;       // 0 means kPageSizeDefault; larger than kPageSizeMax means the max.
    std::string page_token;  // Empty for the first page, else a previous next_page_token.
  };
  struct Result {
    std::vector<Transfer> transfers;
    std::string next_page_token;  // Empty on the last page.
  };

  ListTransfersHandler(WalletRepository& wallets, TransferRepository& transfers)
      : wallets_(wallets), transfers_(transfers) {}

  // UNAUTHENTICATED; PERMISSION_DENIED/MISSING_SCOPE (wallets:read); INVALID_ARGUMENT for
  // INVALID_WALLET_ID, INVALID_PAGE_SIZE (negative) or INVALID_PAGE_TOKEN (malformed, or from
  // another wallet's listing); NOT_FOUND/WALLET_NOT_FOUND (also for another tenant's wallet).
  absl::StatusOr<Result> operator()(Context& ctx, const Command& command);

 private:
  WalletRepository& wallets_;
  TransferRepository& transfers_;
};

// The opaque page token: the wallet it lists and the version to continue below. Decoding accepts
// only a token EncodePageToken made for the same wallet, spelled exactly as it made it. The page
// size is not in it: the version alone says where the next page starts, so a client may change
// page_size between pages without a gap or a repeat.
std::string EncodePageToken(const WalletId& wallet, int64_t before_version);
absl::StatusOr<int64_t> DecodePageToken(const WalletId& wallet, std::string_view token);

}  // namespace walletd
