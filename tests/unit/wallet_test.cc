#include "domain/wallet.h"

#include <limits>

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace walletd {
namespace {

using ::walletd::testing::IsOk;
using ::walletd::testing::StatusIs;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'000'000);

Wallet OpenEur() {
  return Wallet::Open(*WalletId::Parse("00000000-0000-0000-0000-00000000000a"), Tenant::Default(),
                      *RequestId::Parse("open-a"), *Currency::Parse("EUR"), kT0);
}

TEST(WalletTest, OpensEmptyAtVersionZero) {
  Wallet w = OpenEur();
  EXPECT_EQ(w.balance(), 0);
  EXPECT_EQ(w.version(), 0);
  EXPECT_EQ(w.currency().code(), "EUR");
  EXPECT_EQ(w.created_at(), kT0);
  EXPECT_EQ(w.updated_at(), kT0);
}

TEST(WalletTest, CreditAndDebitMoveTheBalanceAndBumpTheVersion) {
  Wallet w = OpenEur();
  ASSERT_THAT(w.Credit(*Money::Positive(100, "EUR"), kT0 + absl::Seconds(1)), IsOk());
  EXPECT_EQ(w.balance(), 100);
  EXPECT_EQ(w.version(), 1);
  EXPECT_EQ(w.updated_at(), kT0 + absl::Seconds(1));
  ASSERT_THAT(w.Debit(*Money::Positive(100, "EUR"), kT0 + absl::Seconds(2)), IsOk());
  EXPECT_EQ(w.balance(), 0);
  EXPECT_EQ(w.version(), 2);
}

TEST(WalletTest, DebitNeverGoesBelowZero) {
  Wallet w = OpenEur();
  ASSERT_THAT(w.Credit(*Money::Positive(10, "EUR"), kT0), IsOk());
  EXPECT_THAT(w.Debit(*Money::Positive(11, "EUR"), kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kInsufficientFunds));
  EXPECT_EQ(w.balance(), 10);
  EXPECT_EQ(w.version(), 1);
}

TEST(WalletTest, CurrenciesMustMatch) {
  Wallet w = OpenEur();
  EXPECT_THAT(w.Credit(*Money::Positive(10, "USD"), kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kCurrencyMismatch));
  EXPECT_THAT(w.Debit(*Money::Positive(10, "USD"), kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kCurrencyMismatch));
  EXPECT_EQ(w.balance(), 0);
  EXPECT_EQ(w.version(), 0);
}

TEST(WalletTest, CreditThatWouldOverflowIsRefused) {
  Wallet w = OpenEur();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  ASSERT_THAT(w.Credit(*Money::Positive(kMax, "EUR"), kT0), IsOk());
  EXPECT_THAT(w.Credit(*Money::Positive(1, "EUR"), kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kBalanceOverflow));
  EXPECT_EQ(w.balance(), kMax);
  EXPECT_EQ(w.version(), 1);
}

TEST(WalletTest, AWalletAtTheLastVersionRefusesToChangeInsteadOfWrapping) {
  // Found by tests/fuzz/request_fuzz: the version bump overflowed int64, undefined behaviour.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  auto w = Wallet::Restore(*WalletId::Parse("00000000-0000-0000-0000-00000000000a"), Tenant::Default(),
                           *RequestId::Parse("r"), *Currency::Parse("EUR"), 5, kMax, kT0, kT0);
  ASSERT_THAT(w, IsOk());
  EXPECT_EQ(w->Credit(*Money::Positive(1, "EUR"), kT0).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(w->Debit(*Money::Positive(1, "EUR"), kT0).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(w->balance(), 5);
  EXPECT_EQ(w->version(), kMax);
}

TEST(WalletTest, RestoreRejectsBrokenStoredState) {
  auto id = *WalletId::Parse("00000000-0000-0000-0000-00000000000a");
  auto rid = *RequestId::Parse("r");
  auto eur = *Currency::Parse("EUR");
  EXPECT_THAT(Wallet::Restore(id, Tenant::Default(), rid, eur, 5, 3, kT0, kT0), IsOk());
  EXPECT_EQ(Wallet::Restore(id, Tenant::Default(), rid, eur, -1, 3, kT0, kT0).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(Wallet::Restore(id, Tenant::Default(), rid, eur, 1, -3, kT0, kT0).status().code(),
            absl::StatusCode::kInternal);
}

TEST(WalletTest, TimestampsKeepMicrosecondsOnly) {
  Wallet w = Wallet::Open(*WalletId::Parse("00000000-0000-0000-0000-00000000000a"), Tenant::Default(),
                          *RequestId::Parse("r"), *Currency::Parse("EUR"),
                          kT0 + absl::Nanoseconds(1999));
  EXPECT_EQ(w.created_at(), kT0 + absl::Microseconds(1));
}

}  // namespace
}  // namespace walletd
