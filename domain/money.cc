#include "domain/money.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "domain/errors.h"
#include "domain/text.h"

namespace walletd {
namespace {

// Active ISO-4217 alphabetic codes (funds and precious metals included), sorted for binary search.
constexpr std::array<std::string_view, 181> kIso4217 = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS",
    "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
    "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL",
    "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY",
    "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES",
    "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR",
    "XOF", "XPD", "XPF", "XPT", "XSU", "XTS", "XUA", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
};

constexpr bool IsSorted() {
  for (size_t i = 1; i < kIso4217.size(); ++i) {
    if (!(kIso4217[i - 1] < kIso4217[i])) return false;
  }
  return true;
}
static_assert(IsSorted(), "kIso4217 must be sorted and free of duplicates");

}  // namespace

absl::StatusOr<Currency> Currency::Parse(std::string_view code) {
  bool shaped = code.size() == 3 && std::all_of(code.begin(), code.end(),
                                                [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!shaped || !std::binary_search(kIso4217.begin(), kIso4217.end(), code)) {
    // A code is 3 letters: a few more show what was sent without echoing a whole payload.
    constexpr size_t kEchoedBytesMax = 16;
    return InvalidArgument(reason::kInvalidCurrency,
                           absl::StrCat("currency must be an ISO-4217 code such as \"EUR\", got ",
                                        QuoteUntrusted(code, kEchoedBytesMax)));
  }
  Currency currency;
  std::copy(code.begin(), code.end(), currency.code_);
  return currency;
}

absl::StatusOr<Money> Money::Positive(int64_t minor_units, std::string_view currency) {
  // The amount first: an absent Money (0, "") is reported as a missing amount.
  if (minor_units <= 0) return Positive(minor_units, Currency());
  auto parsed = Currency::Parse(currency);
  if (!parsed.ok()) return parsed.status();
  return Positive(minor_units, *parsed);
}

absl::StatusOr<Money> Money::Positive(int64_t minor_units, Currency currency) {
  if (minor_units <= 0) {
    return InvalidArgument(reason::kInvalidAmount,
                           absl::StrCat("amount must be a positive number of minor units, got ",
                                        minor_units));
  }
  return Money(minor_units, currency);
}

absl::StatusOr<int64_t> AddChecked(int64_t balance, int64_t amount) {
  int64_t sum = 0;
  if (__builtin_add_overflow(balance, amount, &sum)) {
    return FailedPrecondition(reason::kBalanceOverflow,
                              "the balance would exceed the largest representable amount");
  }
  return sum;
}

}  // namespace walletd
