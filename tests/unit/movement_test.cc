#include <limits>

#include "absl/strings/str_cat.h"
#include "domain/errors.h"

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
constexpr char kC[] = "00000000-0000-0000-0000-00000000000c";
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
  auto t = m.Apply(Tid(), kT0 + absl::Nanoseconds(1500), {&a, &b});
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
  EXPECT_THAT(Movement::Transfer("r", kA, kB, 11, "EUR")->Apply(Tid(), kT0, {&a, &b}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kInsufficientFunds));
  Wallet usd = WalletWith(kB, 0, "USD");
  EXPECT_THAT(Movement::Transfer("r", kA, kB, 5, "EUR")->Apply(Tid(), kT0, {&a, &usd}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kCurrencyMismatch));
  Wallet full = WalletWith(kB, std::numeric_limits<int64_t>::max());
  EXPECT_THAT(Movement::Transfer("r", kA, kB, 5, "EUR")->Apply(Tid(), kT0, {&a, &full}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kBalanceOverflow));
  EXPECT_EQ(a.balance(), 10);
  EXPECT_EQ(a.version(), 1);
  EXPECT_EQ(usd.balance(), 0);
  EXPECT_EQ(full.balance(), std::numeric_limits<int64_t>::max());
}

TEST(MovementTest, DepositAndWithdrawalTouchOneWallet) {
  Wallet a = WalletWith(kA, 0);
  auto d = Movement::Deposit("d", kA, 40, "EUR")->Apply(Tid(), kT0, {&a});
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->kind, TransferKind::kDeposit);
  EXPECT_FALSE(d->from().has_value());
  ASSERT_EQ(d->postings.size(), 1u);
  EXPECT_EQ(d->postings[0].amount, 40);
  auto w = Movement::Withdrawal("w", kA, 15, "EUR")->Apply(Tid(), kT0, {&a});
  ASSERT_THAT(w, IsOk());
  EXPECT_EQ(w->kind, TransferKind::kWithdrawal);
  EXPECT_FALSE(w->to().has_value());
  EXPECT_EQ(w->postings[0].amount, -15);
  EXPECT_EQ(a.balance(), 25);
}

TEST(MovementTest, SamePayloadNeedsEveryFieldToMatch) {
  Wallet a = WalletWith(kA, 100);
  Wallet b = WalletWith(kB, 0);
  auto stored = *Movement::Transfer("r", kA, kB, 30, "EUR")->Apply(Tid(), kT0, {&a, &b});
  EXPECT_TRUE(Movement::Transfer("r", kA, kB, 30, "EUR")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Transfer("r", kA, kB, 31, "EUR")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Transfer("r", kB, kA, 30, "EUR")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Transfer("r", kA, kB, 30, "USD")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Transfer("other", kA, kB, 30, "EUR")->SamePayloadAs(stored));
  EXPECT_FALSE(Movement::Deposit("r", kB, 30, "EUR")->SamePayloadAs(stored));
}

Leg L(const char* wallet, int64_t change) { return Leg{*WalletId::Parse(wallet), change}; }

Movement ThreeLegs(std::vector<Leg> legs, const char* rid = "split") {
  return *Movement::OfLegs(*RequestId::Parse(rid), TransferKind::kTransfer,
                           *Currency::Parse("EUR"), std::move(legs));
}

// No RPC makes one yet; the core must not care how many wallets a movement touches.
TEST(MovementTest, ThreeLegsPostOncePerWalletDebitsFirst) {
  Wallet a = WalletWith(kA, 10);
  Wallet b = WalletWith(kB, 100);
  Wallet c = WalletWith(kC, 1);
  // Given credits first and out of id order: stored debits first, then by wallet id.
  Movement m = ThreeLegs({L(kC, 40), L(kA, 60), L(kB, -100)});
  EXPECT_EQ(m.legs(), (std::vector<Leg>{L(kB, -100), L(kA, 60), L(kC, 40)}));
  EXPECT_EQ(m.amount(), *Money::Positive(100, "EUR"));
  EXPECT_EQ(m.from(), *WalletId::Parse(kB));
  EXPECT_EQ(m.to(), *WalletId::Parse(kA));
  EXPECT_EQ(m.WalletsInLockOrder(),
            (std::vector<WalletId>{*WalletId::Parse(kA), *WalletId::Parse(kB),
                                   *WalletId::Parse(kC)}));
  // The locked wallets come in lock order, not leg order.
  auto t = m.Apply(Tid(), kT0, {&a, &b, &c});
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(a.balance(), 70);
  EXPECT_EQ(b.balance(), 0);
  EXPECT_EQ(c.balance(), 41);
  EXPECT_EQ(a.version(), 2);
  EXPECT_EQ(b.version(), 2);
  EXPECT_EQ(c.version(), 2);
  ASSERT_EQ(t->postings.size(), 3u);
  EXPECT_EQ(t->postings[0].wallet_id, b.id());
  EXPECT_EQ(t->postings[0].amount, -100);
  EXPECT_EQ(t->postings[0].balance_after, 0);
  EXPECT_EQ(t->postings[1].wallet_id, a.id());
  EXPECT_EQ(t->postings[1].amount, 60);
  EXPECT_EQ(t->postings[1].balance_after, 70);
  EXPECT_EQ(t->postings[2].wallet_id, c.id());
  EXPECT_EQ(t->postings[2].amount, 40);
  EXPECT_EQ(t->postings[2].balance_after, 41);
  EXPECT_EQ(t->postings[2].wallet_version, 2);
  EXPECT_EQ(t->amount, *Money::Positive(100, "EUR"));
  EXPECT_EQ(t->from(), b.id());
  EXPECT_EQ(t->to(), a.id());
  EXPECT_TRUE(m.SamePayloadAs(*t));
  EXPECT_FALSE(ThreeLegs({L(kB, -100), L(kA, 50), L(kC, 50)}).SamePayloadAs(*t));
  EXPECT_FALSE(Movement::Transfer("split", kB, kA, 100, "EUR")->SamePayloadAs(*t));
}

TEST(MovementTest, ThreeLegRefusalOnTheLastLegLeavesEveryWalletUnchanged) {
  Wallet a = WalletWith(kA, 0);
  Wallet b = WalletWith(kB, 100);
  Wallet full = WalletWith(kC, std::numeric_limits<int64_t>::max());
  Movement m = ThreeLegs({L(kB, -100), L(kA, 60), L(kC, 40)});
  EXPECT_THAT(m.Apply(Tid(), kT0, {&a, &b, &full}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kBalanceOverflow));
  Wallet usd = WalletWith(kC, 0, "USD");
  EXPECT_THAT(m.Apply(Tid(), kT0, {&a, &b, &usd}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kCurrencyMismatch));
  Wallet other = WalletWith(kC, 0, "EUR", "acme");
  EXPECT_THAT(m.Apply(Tid(), kT0, {&a, &b, &other}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kTenantMismatch));
  Wallet poor = WalletWith(kB, 99);
  EXPECT_THAT(m.Apply(Tid(), kT0, {&a, &poor, &full}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kInsufficientFunds));
  EXPECT_EQ(a.version(), 0);
  EXPECT_EQ(b.version(), 1);
  EXPECT_EQ(poor.version(), 1);
  EXPECT_EQ(a.balance(), 0);
  EXPECT_EQ(b.balance(), 100);
  EXPECT_EQ(poor.balance(), 99);
  EXPECT_EQ(full.balance(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(usd.version(), 0);
  EXPECT_EQ(other.version(), 0);
}

TEST(MovementTest, LegsMustFitTheKind) {
  const RequestId rid = *RequestId::Parse("r");
  const Currency eur = *Currency::Parse("EUR");
  auto of = [&](TransferKind kind, std::vector<Leg> legs) {
    return Movement::OfLegs(rid, kind, eur, std::move(legs));
  };
  const auto bad = [](auto result) {
    return result.status().code() == absl::StatusCode::kInvalidArgument &&
           HasReason(result.status(), reason::kInvalidAmount);
  };
  EXPECT_TRUE(bad(of(TransferKind::kTransfer, {})));
  EXPECT_TRUE(bad(of(TransferKind::kTransfer, {L(kA, -10), L(kB, 9)})));
  EXPECT_TRUE(bad(of(TransferKind::kTransfer, {L(kA, 10)})));
  EXPECT_TRUE(bad(of(TransferKind::kTransfer, {L(kA, -10), L(kB, 10), L(kC, 0)})));
  EXPECT_TRUE(bad(of(TransferKind::kDeposit, {L(kA, -10)})));
  EXPECT_TRUE(bad(of(TransferKind::kWithdrawal, {L(kA, -10), L(kB, 10)})));
  EXPECT_TRUE(bad(of(TransferKind::kTransfer, {L(kA, std::numeric_limits<int64_t>::min()),
                                               L(kB, 1)})));
  EXPECT_TRUE(bad(of(TransferKind::kDeposit, {L(kA, std::numeric_limits<int64_t>::max()),
                                              L(kB, 1)})));
  std::vector<Leg> many;
  for (size_t i = 0; i <= kMovementLegsMax; ++i) {
    many.push_back(Leg{*WalletId::Parse(absl::StrCat("00000000-0000-0000-0000-", absl::Dec(i, absl::kZeroPad12))), 1});
  }
  EXPECT_TRUE(bad(of(TransferKind::kDeposit, many)));
  many.pop_back();
  EXPECT_THAT(of(TransferKind::kDeposit, many), IsOk());
  EXPECT_THAT(of(TransferKind::kTransfer, {L(kA, -10), L(kB, 5), L(kA, 5)}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kSameWallet));
  // Two deposits into one wallet in a single movement would need two postings at one version.
  EXPECT_THAT(of(TransferKind::kDeposit, {L(kA, 1), L(kA, 2)}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kSameWallet));
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
