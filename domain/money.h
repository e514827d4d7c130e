#pragma once
// Money is an integer count of a currency's minor units (cents, pence, ...): never floating point,
// and arithmetic that would overflow is an error, never a wrap.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace walletd {

// An active ISO-4217 alphabetic code, e.g. "EUR".
class Currency {
 public:
  // INVALID_CURRENCY unless `code` is three upper-case letters naming an ISO-4217 currency.
  static absl::StatusOr<Currency> Parse(std::string_view code);

  std::string_view code() const { return std::string_view(code_, 3); }
  friend bool operator==(const Currency& a, const Currency& b) { return a.code() == b.code(); }

 private:
  friend class Money;
  Currency() = default;
  char code_[3] = {};
};

// A positive amount of money, as moved by a deposit, withdrawal or transfer.
class Money {
 public:
  // INVALID_AMOUNT unless `minor_units` > 0; INVALID_CURRENCY for a bad code.
  static absl::StatusOr<Money> Positive(int64_t minor_units, std::string_view currency);
  static absl::StatusOr<Money> Positive(int64_t minor_units, Currency currency);

  int64_t minor_units() const { return minor_units_; }
  const Currency& currency() const { return currency_; }
  friend bool operator==(const Money& a, const Money& b) {
    return a.minor_units_ == b.minor_units_ && a.currency_ == b.currency_;
  }

 private:
  Money(int64_t minor_units, Currency currency) : minor_units_(minor_units), currency_(currency) {}
  int64_t minor_units_;
  Currency currency_;
};

// `balance + amount`, or BALANCE_OVERFLOW (FAILED_PRECONDITION) when it does not fit in int64.
absl::StatusOr<int64_t> AddChecked(int64_t balance, int64_t amount);

}  // namespace walletd
