#include <limits>

#include "domain/status_macros.h"
#include "domain/transfer.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace walletd {
namespace {

using ::walletd::testing::IsOk;
using ::walletd::testing::StatusIs;

constexpr char kA[] = "00000000-0000-0000-0000-00000000000a";
constexpr char kB[] = "00000000-0000-0000-0000-00000000000b";
const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'000'000);

Wallet WalletWith(const char* id, int64_t balance, const char* currency = "EUR",
                  const char* tenant = "default") {
  Wallet w = Wallet::Open(*WalletId::Parse(id), *Tenant::Parse(tenant), *RequestId::Parse("open"),
                          *Currency::Parse(currency), kT0);
  if (balance > 0) CHECK(w.Credit(*Money::Positive(balance, currency), kT0).ok());
  return w;
}

TransferId Tid() { return *TransferId::Parse("00000000-0000-0000-0000-0000000000f1"); }

TEST(MovementTest, ValidatesEveryInput) {
  EXPECT_THAT(Movement::Transfer("", kA, kB, 1, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidRequestId));
  EXPECT_THAT(Movement::Transfer("r", "x", kB, 1, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidWalletId));
  EXPECT_THAT(Movement::Transfer("r", kA, "y", 1, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidWalletId));
  EXPECT_THAT(Movement::Transfer("r", kA, kB, 0, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidAmount));
  EXPECT_THAT(Movement::Transfer("r", kA, kB, 1, "eur"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidCurrency));
  EXPECT_THAT(Movement::Deposit("r", "", 1, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidWalletId));
  EXPECT_THAT(Movement::Withdrawal("r", kA, -1, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidAmount));
}

TEST(MovementTest, TransferNeedsTwoDifferentWallets) {
  EXPECT_THAT(Movement::Transfer("r", kA, kA, 1, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kSameWallet));
  // The same wallet spelled in another case is still the same wallet.
  std::string upper = kA;
  upper.back() = 'A';
  EXPECT_THAT(Movement::Transfer("r", kA, upper, 1, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kSameWallet));
}

TEST(MovementTest, LocksInAscendingIdOrderWhicheverWayMoneyFlows) {
  auto forward = *Movement::Transfer("r", kA, kB, 1, "EUR");
  auto backward = *Movement::Transfer("r", kB, kA, 1, "EUR");
  std::vector<WalletId> expected = {*WalletId::Parse(kA), *WalletId::Parse(kB)};
  EXPECT_EQ(forward.WalletsInLockOrder(), expected);
  EXPECT_EQ(backward.WalletsInLockOrder(), expected);
  EXPECT_EQ(Movement::Deposit("r", kB, 1, "EUR")->WalletsInLockOrder(),
            std::vector<WalletId>{*WalletId::Parse(kB)});
}

TEST(MovementTest, TransferDebitsOneCreditsTheOtherAndRecordsPostings) {
  Wallet a = WalletWith(kA, 100);
  Wallet b = WalletWith(kB, 5);
  auto m = *Movement::Transfer("r-1", kA, kB, 30, "EUR");
  auto t = m.Apply(Tid(), kT0 + absl::Nanoseconds(1500), &a, &b);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(a.balance(), 70);
  EXPECT_EQ(b.balance(), 35);
  EXPECT_EQ(a.version(), 2);
  EXPECT_EQ(b.version(), 2);
  EXPECT_EQ(t->kind, TransferKind::kTransfer);
  EXPECT_EQ(t->request_id.str(), "r-1");
  EXPECT_EQ(t->created_at, kT0 + absl::Microseconds(1));
  ASSERT_EQ(t->postings.size(), 2u);
  EXPECT_EQ(t->postings[0].wallet_id, a.id());
  EXPECT_EQ(t->postings[0].amount, -30);
  EXPECT_EQ(t->postings[0].balance_after, 70);
  EXPECT_EQ(t->postings[0].wallet_version, 2);
  EXPECT_EQ(t->postings[1].wallet_id, b.id());
  EXPECT_EQ(t->postings[1].amount, 30);
  EXPECT_EQ(t->postings[1].balance_after, 35);
  EXPECT_EQ(t->PostingOf(b.id()), &t->postings[1]);
  EXPECT_TRUE(m.SamePayloadAs(*t));
}

TEST(MovementTest, RefusalLeavesBothWalletsUnchanged) {
  Wallet a = WalletWith(kA, 10);
  Wallet b = WalletWith(kB, 0);
  EXPECT_THAT(Movement::Transfer("r", kA, kB, 11, "EUR")->Apply(Tid(), kT0, &a, &b),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kInsufficientFunds));
  Wallet usd = WalletWith(kB, 0, "USD");
  EXPECT_THAT(Movement::Transfer("r", kA, kB, 5, "EUR")->Apply(Tid(), kT0, &a, &usd),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kCurrencyMismatch));
  Wallet full = WalletWith(kB, std::numeric_limits<int64_t>::max());
  EXPECT_THAT(Movement::Transfer("r", kA, kB, 5, "EUR")->Apply(Tid(), kT0, &a, &full),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kBalanceOverflow));
  EXPECT_EQ(a.balance(), 10);
  EXPECT_EQ(a.version(), 1);
  EXPECT_EQ(usd.balance(), 0);
  EXPECT_EQ(full.balance(), std::numeric_limits<int64_t>::max());
}

TEST(MovementTest, DepositAndWithdrawalTouchOneWallet) {
  Wallet a = WalletWith(kA, 0);
  auto d = Movement::Deposit("d", kA, 40, "EUR")->Apply(Tid(), kT0, nullptr, &a);
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->kind, TransferKind::kDeposit);
  EXPECT_FALSE(d->from.has_value());
  ASSERT_EQ(d->postings.size(), 1u);
  EXPECT_EQ(d->postings[0].amount, 40);
  auto w = Movement::Withdrawal("w", kA, 15, "EUR")->Apply(Tid(), kT0, &a, nullptr);
  ASSERT_THAT(w, IsOk());
  EXPECT_EQ(w->kind, TransferKind::kWithdrawal);
  EXPECT_FALSE(w->to.has_value());
  EXPECT_EQ(w->postings[0].amount, -15);
  EXPECT_EQ(a.balance(), 25);
}

TEST(MovementTest, SamePayloadNeedsEveryFieldToMatch) {
  Wallet a = WalletWith(kA, 100);
  Wallet b = WalletWith(kB, 0);
  auto stored = *Movement::Transfer("r", kA, kB, 30, "EUR")->Apply(Tid(), kT0, &a, &b);
  EXPECT_TRUE(Movement::Transfer("r", kA, kB, 30, "EUR")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Transfer("r", kA, kB, 31, "EUR")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Transfer("r", kB, kA, 30, "EUR")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Transfer("r", kA, kB, 30, "USD")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Transfer("other", kA, kB, 30, "EUR")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Deposit("r", kB, 30, "EUR")->SamePayloadAs(stored));
}

TEST(TransferKindTest, NamesRoundTrip) {
  for (TransferKind kind : {TransferKind::kTransfer, TransferKind::kDeposit,
                            TransferKind::kWithdrawal}) {
    EXPECT_EQ(*KindFromName(KindName(kind)), kind);
  }
  EXPECT_EQ(KindFromName("refund").status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace walletd
