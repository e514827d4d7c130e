#include "domain/wallet.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "domain/errors.h"
#include "domain/text.h"

namespace walletd {

absl::Time TruncateToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

absl::Status WalletNotFound(const WalletId& id) {
  return NotFound(reason::kWalletNotFound, absl::StrCat("no wallet ", id.str()));
}

Wallet::Wallet(WalletId id, Tenant tenant, RequestId request_id, Currency currency,
               int64_t balance, int64_t version, absl::Time created_at, absl::Time updated_at)
    : id_(std::move(id)),
      tenant_(std::move(tenant)),
      request_id_(std::move(request_id)),
      currency_(currency),
      balance_(balance),
      version_(version),
      created_at_(created_at),
      updated_at_(updated_at) {}

Wallet Wallet::Open(WalletId id, Tenant tenant, RequestId request_id, Currency currency,
                    absl::Time now) {
  now = TruncateToMicros(now);
  return Wallet(std::move(id), std::move(tenant), std::move(request_id), currency, 0, 0, now,
                now);
}

absl::StatusOr<Wallet> Wallet::Restore(WalletId id, Tenant tenant, RequestId request_id,
                                       Currency currency, int64_t balance, int64_t version,
                                       absl::Time created_at, absl::Time updated_at) {
  if (balance < 0 || version < 0) {
    return absl::InternalError(absl::StrCat("stored wallet ", id.str(), " has balance ", balance,
                                            " and version ", version));
  }
  return Wallet(std::move(id), std::move(tenant), std::move(request_id), currency, balance, version,
                created_at, updated_at);
}

absl::Status Wallet::CheckCurrency(const Money& amount) const {
  if (amount.currency() == currency_) return absl::OkStatus();
  return FailedPrecondition(reason::kCurrencyMismatch,
                            absl::StrCat("wallet ", id_.str(), " holds ", AsAbsl(currency_.code()),
                                         ", not ", AsAbsl(amount.currency().code())));
}

absl::Status Wallet::CheckVersion() const {
  // Unreachable by counting (2^63 movements), so only corrupt storage gets here: refuse, never wrap.
  if (version_ < std::numeric_limits<int64_t>::max()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("wallet ", id_.str(), " is at the last version"));
}

void Wallet::Touch(absl::Time now) {
  ++version_;
  updated_at_ = TruncateToMicros(now);
}

absl::Status Wallet::Credit(const Money& amount, absl::Time now) {
  if (absl::Status s = CheckCurrency(amount); !s.ok()) return s;
  if (absl::Status s = CheckVersion(); !s.ok()) return s;
  auto sum = AddChecked(balance_, amount.minor_units());
  if (!sum.ok()) return sum.status();
  balance_ = *sum;
  Touch(now);
  return absl::OkStatus();
}

absl::Status Wallet::Debit(const Money& amount, absl::Time now) {
  if (absl::Status s = CheckCurrency(amount); !s.ok()) return s;
  if (absl::Status s = CheckVersion(); !s.ok()) return s;
  if (balance_ < amount.minor_units()) {
    return FailedPrecondition(reason::kInsufficientFunds,
                              absl::StrCat("wallet ", id_.str(), " holds ", balance_, " ",
                                           AsAbsl(currency_.code()), ", less than ", amount.minor_units()));
  }
  balance_ -= amount.minor_units();
  Touch(now);
  return absl::OkStatus();
}

}  // namespace walletd
