#include "application/list_transfers.h"

#include <algorithm>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "application/authorize.h"
#include "domain/errors.h"
#include "domain/status_macros.h"
#include "domain/text.h"

namespace walletd {
namespace {

constexpr absl::string_view kTokenVersion = "v1";

absl::Status BadToken() {
  return InvalidArgument(reason::kInvalidPageToken,
                         "page_token is not a next_page_token of this wallet's listing");
}

}  // namespace

std::string EncodePageToken(const WalletId& wallet, int64_t before_version) {
  return absl::WebSafeBase64Escape(absl::StrCat(kTokenVersion, ":", wallet.str(), ":",
                                                before_version));
}

absl::StatusOr<int64_t> DecodePageToken(const WalletId& wallet, std::string_view token) {
  std::string plain;
  if (!absl::WebSafeBase64Unescape(AsAbsl(token), &plain)) {
    return BadToken();
  }
  std::vector<absl::string_view> parts = absl::StrSplit(plain, ':');
  int64_t before_version = 0;
  if (parts.size() != 3 || parts[0] != kTokenVersion || parts[1] != wallet.str() ||
      !absl::SimpleAtoi(parts[2], &before_version) || before_version < 1) {
    return BadToken();
  }
  // Base64 padding, "+9", " 9" and "09" all parse: only the spelling walletd hands out is a token,
  // so that one position has one token and no other string is taken for it.
  if (EncodePageToken(wallet, before_version) != token) return BadToken();
  return before_version;
}

absl::StatusOr<ListTransfersHandler::Result> ListTransfersHandler::operator()(
    Context& ctx, const Command& command) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireScope(ctx, Scope::kRead));
  ASSIGN_OR_RETURN(WalletId wallet, WalletId::Parse(command.wallet_id));
  if (command.page_size < 0) {
    return InvalidArgument(reason::kInvalidPageSize,
                           absl::StrCat("page_size must not be negative, got ", command.page_size));
  }
  const int page_size =
      command.page_size == 0 ? kPageSizeDefault : std::min(command.page_size, kPageSizeMax);
  std::optional<int64_t> before_version;
  if (!command.page_token.empty()) {
    ASSIGN_OR_RETURN(before_version, DecodePageToken(wallet, command.page_token));
  }
  RETURN_IF_ERROR(ctx.Alive());
  // One row more than the page tells whether another page follows, without an empty last page.
  ASSIGN_OR_RETURN(std::vector<Transfer> rows,
                   transfers_.ListByWallet(ctx, wallet, before_version, page_size + 1));
  Result result;
  if (rows.empty()) {
    // Tell an empty wallet from a wrong id, also when a token (which walletd mints only when rows
    // follow, so this one was made up) names a wallet that does not exist, or another tenant's.
    ASSIGN_OR_RETURN(Wallet listed, wallets_.Get(ctx, wallet));
    RETURN_IF_ERROR(CheckReaches(*caller, listed));
    return result;
  }
  // A transfer's tenant is its wallets' (the schema holds it so): rows of another tenant mean the
  // wallet is another tenant's, answered as if it did not exist.
  for (const Transfer& row : rows) {
    if (!caller->Reaches(row.tenant.str())) return WalletNotFound(wallet);
  }
  if (static_cast<int>(rows.size()) > page_size) {
    rows.erase(rows.begin() + page_size, rows.end());
    const Posting* last = rows.back().PostingOf(wallet);
    if (last == nullptr) return absl::InternalError("a listed transfer lacks the wallet's posting");
    result.next_page_token = EncodePageToken(wallet, last->wallet_version);
  }
  result.transfers = std::move(rows);
  return result;
}

}  // namespace walletd
