#include "domain/transfer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "domain/errors.h"
#include "domain/status_macros.h"
#include "domain/text.h"

namespace walletd {

std::string_view KindName(TransferKind kind) {
  switch (kind) {
    case TransferKind::kTransfer:
      return "transfer";
    case TransferKind::kDeposit:
      return "deposit";
    case TransferKind::kWithdrawal:
      return "withdrawal";
  }
  CHECK(false);
}

absl::Status TransferNotFound(const TransferId& id) {
  return NotFound(reason::kTransferNotFound, absl::StrCat("no transfer ", id.str()));
}

absl::StatusOr<TransferKind> KindFromName(std::string_view name) {
  if (name == "transfer") return TransferKind::kTransfer;
  if (name == "deposit") return TransferKind::kDeposit;
  if (name == "withdrawal") return TransferKind::kWithdrawal;
  return absl::InternalError(absl::StrCat("unknown transfer kind \"", AsAbsl(name), "\""));
}

const Posting* Transfer::PostingOf(const WalletId& wallet) const {
  for (const Posting& posting : postings) {
    if (posting.wallet_id == wallet) return &posting;
  }
  return nullptr;
}

Movement::Movement(RequestId request_id, TransferKind kind, std::optional<WalletId> from,
                   std::optional<WalletId> to, Money amount)
    : request_id_(std::move(request_id)),
      kind_(kind),
      from_(std::move(from)),
      to_(std::move(to)),
      amount_(amount) {}

absl::StatusOr<Movement> Movement::Transfer(std::string_view request_id, std::string_view from,
                                            std::string_view to, int64_t amount,
                                            std::string_view currency) {
  ASSIGN_OR_RETURN(RequestId rid, RequestId::Parse(request_id));
  ASSIGN_OR_RETURN(WalletId from_id, WalletId::Parse(from));
  ASSIGN_OR_RETURN(WalletId to_id, WalletId::Parse(to));
  ASSIGN_OR_RETURN(Money money, Money::Positive(amount, currency));
  if (from_id == to_id) {
    return InvalidArgument(reason::kSameWallet, "a transfer needs two different wallets");
  }
  return Movement(std::move(rid), TransferKind::kTransfer, std::move(from_id), std::move(to_id),
                  money);
}

absl::StatusOr<Movement> Movement::Deposit(std::string_view request_id, std::string_view to,
                                           int64_t amount, std::string_view currency) {
  ASSIGN_OR_RETURN(RequestId rid, RequestId::Parse(request_id));
  ASSIGN_OR_RETURN(WalletId to_id, WalletId::Parse(to));
  ASSIGN_OR_RETURN(Money money, Money::Positive(amount, currency));
  return Movement(std::move(rid), TransferKind::kDeposit, std::nullopt, std::move(to_id), money);
}

absl::StatusOr<Movement> Movement::Withdrawal(std::string_view request_id, std::string_view from,
                                              int64_t amount, std::string_view currency) {
  ASSIGN_OR_RETURN(RequestId rid, RequestId::Parse(request_id));
  ASSIGN_OR_RETURN(WalletId from_id, WalletId::Parse(from));
  ASSIGN_OR_RETURN(Money money, Money::Positive(amount, currency));
  return Movement(std::move(rid), TransferKind::kWithdrawal, std::move(from_id), std::nullopt,
                  money);
}

std::vector<WalletId> Movement::WalletsInLockOrder() const {
  std::vector<WalletId> ids;
  if (from_) ids.push_back(*from_);
  if (to_) ids.push_back(*to_);
  if (ids.size() == 2 && ids[1] < ids[0]) std::swap(ids[0], ids[1]);
  return ids;
}

bool Movement::SamePayloadAs(const walletd::Transfer& stored) const {
  return stored.request_id == request_id_ && stored.kind == kind_ && stored.from == from_ &&
         stored.to == to_ && stored.amount == amount_;
}

absl::StatusOr<walletd::Transfer> Movement::Apply(TransferId id, absl::Time now, Wallet* from,
                                                  Wallet* to) const {
  CHECK((from != nullptr) == from_.has_value() && (to != nullptr) == to_.has_value());
  CHECK(from == nullptr || from->id() == *from_);
  CHECK(to == nullptr || to->id() == *to_);
  if (from != nullptr && to != nullptr && !(from->tenant() == to->tenant())) {
    return FailedPrecondition(
        reason::kTenantMismatch,
        absl::StrCat("wallet ", from->id().str(), " belongs to tenant \"", from->tenant().str(),
                     "\" and wallet ", to->id().str(), " to \"", to->tenant().str(),
                     "\": money never moves between tenants"));
  }
  Tenant tenant = from != nullptr ? from->tenant() : to->tenant();
  now = TruncateToMicros(now);
  // Work on copies so that a refusal leaves both wallets as they were.
  std::optional<Wallet> debited, credited;
  std::vector<Posting> postings;
  if (from != nullptr) {
    debited = *from;
    RETURN_IF_ERROR(debited->Debit(amount_, now));
    postings.push_back(
        Posting{debited->id(), -amount_.minor_units(), debited->balance(), debited->version()});
  }
  if (to != nullptr) {
    credited = *to;
    RETURN_IF_ERROR(credited->Credit(amount_, now));
    postings.push_back(
        Posting{credited->id(), amount_.minor_units(), credited->balance(), credited->version()});
  }
  if (debited) *from = std::move(*debited);
  if (credited) *to = std::move(*credited);
  return walletd::Transfer{std::move(id), std::move(tenant), request_id_, kind_,
                           from_,         to_,    amount_,     now,   std::move(postings)};
}

}  // namespace walletd
