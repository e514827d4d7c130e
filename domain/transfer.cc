#include "domain/transfer.h"

#include <algorithm>
#include <limits>
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

namespace {

// The wallet of the first entry whose change has the sign asked for.
template <class Entries, class WalletOf, class ChangeOf>
std::optional<WalletId> FirstWith(const Entries& entries, bool debit, WalletOf wallet_of,
                                  ChangeOf change_of) {
  for (const auto& entry : entries) {
    if ((change_of(entry) < 0) == debit) return wallet_of(entry);
  }
  return std::nullopt;
}

std::optional<WalletId> FirstPosting(const std::vector<Posting>& postings, bool debit) {
  return FirstWith(
      postings, debit, [](const Posting& p) { return p.wallet_id; },
      [](const Posting& p) { return p.amount; });
}

std::optional<WalletId> FirstLeg(const std::vector<Leg>& legs, bool debit) {
  return FirstWith(
      legs, debit, [](const Leg& l) { return l.wallet; }, [](const Leg& l) { return l.change; });
}

absl::Status BadLegs(std::string_view why) {
  return InvalidArgument(reason::kInvalidAmount, absl::StrCat("the movement's legs ", AsAbsl(why)));
}

}  // namespace

std::optional<WalletId> Transfer::from() const { return FirstPosting(postings, true); }
std::optional<WalletId> Transfer::to() const { return FirstPosting(postings, false); }

Movement::Movement(RequestId request_id, TransferKind kind, std::vector<Leg> legs, Money amount)
    : request_id_(std::move(request_id)), kind_(kind), legs_(std::move(legs)), amount_(amount) {}

absl::StatusOr<Movement> Movement::OfLegs(RequestId request_id, TransferKind kind,
                                          Currency currency, std::vector<Leg> legs) {
  if (legs.empty() || legs.size() > kMovementLegsMax) {
    return BadLegs(absl::StrCat("number ", legs.size(), ", not 1 to ", kMovementLegsMax));
  }
  // The order postings are stored and read back in, so that a replay compares equal.
  std::sort(legs.begin(), legs.end(), [](const Leg& a, const Leg& b) {
    if ((a.change < 0) != (b.change < 0)) return a.change < 0;
    return a.wallet < b.wallet;
  });
  int64_t debits = 0, credits = 0;
  for (size_t i = 0; i < legs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (legs[j].wallet == legs[i].wallet) {
        return InvalidArgument(reason::kSameWallet,
                               absl::StrCat("wallet ", legs[i].wallet.str(), " has two legs"));
      }
    }
    const int64_t change = legs[i].change;
    if (change == 0 || change == std::numeric_limits<int64_t>::min()) {
      return BadLegs(absl::StrCat("include a change of ", change));
    }
    int64_t& total = change < 0 ? debits : credits;
    auto sum = AddChecked(total, change < 0 ? -change : change);
    if (!sum.ok()) return BadLegs("add up beyond int64");
    total = *sum;
  }
  bool shaped = false;
  switch (kind) {
    case TransferKind::kTransfer:
      shaped = debits > 0 && debits == credits;
      break;
    case TransferKind::kDeposit:
      shaped = debits == 0;
      break;
    case TransferKind::kWithdrawal:
      shaped = credits == 0;
      break;
  }
  if (!shaped) {
    return BadLegs(absl::StrCat("debit ", debits, " and credit ", credits, ", which no ",
                                AsAbsl(KindName(kind)), " does"));
  }
  ASSIGN_OR_RETURN(Money amount, Money::Positive(debits > 0 ? debits : credits, currency));
  return Movement(std::move(request_id), kind, std::move(legs), amount);
}

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
  return OfLegs(std::move(rid), TransferKind::kTransfer, money.currency(),
                {Leg{std::move(from_id), -amount}, Leg{std::move(to_id), amount}});
}

absl::StatusOr<Movement> Movement::Deposit(std::string_view request_id, std::string_view to,
                                           int64_t amount, std::string_view currency) {
  ASSIGN_OR_RETURN(RequestId rid, RequestId::Parse(request_id));
  ASSIGN_OR_RETURN(WalletId to_id, WalletId::Parse(to));
  ASSIGN_OR_RETURN(Money money, Money::Positive(amount, currency));
  return OfLegs(std::move(rid), TransferKind::kDeposit, money.currency(),
                {Leg{std::move(to_id), amount}});
}

absl::StatusOr<Movement> Movement::Withdrawal(std::string_view request_id, std::string_view from,
                                              int64_t amount, std::string_view currency) {
  ASSIGN_OR_RETURN(RequestId rid, RequestId::Parse(request_id));
  ASSIGN_OR_RETURN(WalletId from_id, WalletId::Parse(from));
  ASSIGN_OR_RETURN(Money money, Money::Positive(amount, currency));
  return OfLegs(std::move(rid), TransferKind::kWithdrawal, money.currency(),
                {Leg{std::move(from_id), -amount}});
}

std::optional<WalletId> Movement::from() const { return FirstLeg(legs_, true); }
std::optional<WalletId> Movement::to() const { return FirstLeg(legs_, false); }

std::vector<WalletId> Movement::WalletsInLockOrder() const {
  std::vector<WalletId> ids;
  for (const Leg& leg : legs_) ids.push_back(leg.wallet);
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool Movement::SamePayloadAs(const walletd::Transfer& stored) const {
  if (!(stored.request_id == request_id_ && stored.kind == kind_ && stored.amount == amount_ &&
        stored.postings.size() == legs_.size())) {
    return false;
  }
  for (size_t i = 0; i < legs_.size(); ++i) {
    const Posting& posting = stored.postings[i];
    if (!(posting.wallet_id == legs_[i].wallet && posting.amount == legs_[i].change)) return false;
  }
  return true;
}

absl::StatusOr<walletd::Transfer> Movement::Apply(TransferId id, absl::Time now,
                                                  absl::Span<Wallet* const> wallets) const {
  CHECK(wallets.size() == legs_.size());
  // The wallet of each leg, in leg order; the caller locked exactly these.
  std::vector<Wallet*> of_leg;
  for (const Leg& leg : legs_) {
    Wallet* found = nullptr;
    for (Wallet* wallet : wallets) {
      if (wallet != nullptr && wallet->id() == leg.wallet) found = wallet;
    }
    CHECK(found != nullptr);
    of_leg.push_back(found);
  }
  const Wallet& first = *of_leg.front();
  const Tenant tenant = first.tenant();
  for (const Wallet* other : of_leg) {
    if (other->tenant() == first.tenant()) continue;
    return FailedPrecondition(
        reason::kTenantMismatch,
        absl::StrCat("wallet ", first.id().str(), " belongs to tenant \"", first.tenant().str(),
                     "\" and wallet ", other->id().str(), " to \"", other->tenant().str(),
                     "\": money never moves between tenants"));
  }
  now = TruncateToMicros(now);
  // Work on copies so that a refusal leaves every wallet as it was.
  std::vector<Wallet> changed;
  std::vector<Posting> postings;
  changed.reserve(legs_.size());
  for (size_t i = 0; i < legs_.size(); ++i) {
    const int64_t change = legs_[i].change;
    ASSIGN_OR_RETURN(Money money,
                     Money::Positive(change < 0 ? -change : change, amount_.currency()));
    changed.push_back(*of_leg[i]);
    Wallet& wallet = changed.back();
    RETURN_IF_ERROR(change < 0 ? wallet.Debit(money, now) : wallet.Credit(money, now));
    postings.push_back(Posting{wallet.id(), change, wallet.balance(), wallet.version()});
  }
  for (size_t i = 0; i < legs_.size(); ++i) *of_leg[i] = std::move(changed[i]);
  return walletd::Transfer{std::move(id), tenant, request_id_, kind_, amount_, now,
                           std::move(postings)};
}

}  // namespace walletd
