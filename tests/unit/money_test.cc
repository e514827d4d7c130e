#include "domain/money.h"

#include <limits>

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace walletd {
namespace {

using ::walletd::testing::IsOk;
using ::walletd::testing::StatusIs;

TEST(CurrencyTest, AcceptsIso4217Codes) {
  for (const char* code : {"EUR", "USD", "JPY", "AED", "ZWL", "XTS"}) {
    auto currency = Currency::Parse(code);
    ASSERT_THAT(currency, IsOk()) << code;
    EXPECT_EQ(currency->code(), code);
  }
}

TEST(CurrencyTest, RejectsWhatIsNotAnIso4217Code) {
  for (const char* code : {"", "EU", "EURO", "eur", "Eur", "E1R", "ABC", "QQQ", "EU\xC3\x80"}) {
    EXPECT_THAT(Currency::Parse(code),
                StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidCurrency))
        << code;
  }
}

TEST(MoneyTest, AmountsArePositiveMinorUnits) {
  auto money = Money::Positive(1, "EUR");
  ASSERT_THAT(money, IsOk());
  EXPECT_EQ(money->minor_units(), 1);
  EXPECT_EQ(money->currency().code(), "EUR");
  EXPECT_THAT(Money::Positive(std::numeric_limits<int64_t>::max(), "EUR"), IsOk());
  EXPECT_THAT(Money::Positive(0, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidAmount));
  EXPECT_THAT(Money::Positive(-5, "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidAmount));
  EXPECT_THAT(Money::Positive(std::numeric_limits<int64_t>::min(), "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidAmount));
  EXPECT_THAT(Money::Positive(5, "XXY"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidCurrency));
  // An absent amount (as an unset proto message arrives) is reported as the amount.
  EXPECT_THAT(Money::Positive(0, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidAmount));
}

TEST(MoneyTest, EqualityNeedsAmountAndCurrency) {
  EXPECT_EQ(*Money::Positive(5, "EUR"), *Money::Positive(5, "EUR"));
  EXPECT_FALSE(*Money::Positive(5, "EUR") == *Money::Positive(5, "USD"));
  EXPECT_FALSE(*Money::Positive(5, "EUR") == *Money::Positive(6, "EUR"));
}

TEST(MoneyTest, AdditionOverflowIsAnErrorNotAWrap) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(*AddChecked(kMax - 1, 1), kMax);
  EXPECT_EQ(*AddChecked(10, -10), 0);
  EXPECT_THAT(AddChecked(kMax, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kBalanceOverflow));
  EXPECT_THAT(AddChecked(kMax / 2 + 1, kMax / 2 + 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kBalanceOverflow));
}

}  // namespace
}  // namespace walletd
