#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/ids.h"
#include "domain/money.h"

namespace walletd {

// A wallet holds a non-negative balance in one currency and belongs to one tenant for life. Every
// change bumps its version by one, so a stored wallet's version counts the movements it has seen.
class Wallet {
 public:
  // A new, empty wallet at version 0.
  static Wallet Open(WalletId id, Tenant tenant, RequestId request_id, Currency currency,
                     absl::Time now);
  // A wallet read back from storage; INTERNAL when the stored state breaks an invariant.
  static absl::StatusOr<Wallet> Restore(WalletId id, Tenant tenant, RequestId request_id,
                                        Currency currency, int64_t balance, int64_t version,
                                        absl::Time created_at, absl::Time updated_at);

  const WalletId& id() const { return id_; }
  const Tenant& tenant() const { return tenant_; }
  // The idempotency key of the request that created the wallet.
  const RequestId& request_id() const { return request_id_; }
  const Currency& currency() const { return currency_; }
  int64_t balance() const { return balance_; }
  int64_t version() const { return version_; }
  absl::Time created_at() const { return created_at_; }
  absl::Time updated_at() const { return updated_at_; }

  // Adds `amount`: CURRENCY_MISMATCH, BALANCE_OVERFLOW or INTERNAL (the version is at its
  // maximum) leave the wallet unchanged.
  absl::Status Credit(const Money& amount, absl::Time now);
  // Removes `amount`: CURRENCY_MISMATCH, INSUFFICIENT_FUNDS or INTERNAL leave the wallet unchanged.
  absl::Status Debit(const Money& amount, absl::Time now);

 private:
  Wallet(WalletId id, Tenant tenant, RequestId request_id, Currency currency, int64_t balance, int64_t version,
         absl::Time created_at, absl::Time updated_at);
  absl::Status CheckCurrency(const Money& amount) const;
  // INTERNAL when the version cannot grow any more.
  absl::Status CheckVersion() const;
  void Touch(absl::Time now);

  WalletId id_;
  Tenant tenant_;
  RequestId request_id_;
  Currency currency_;
  int64_t balance_;
  int64_t version_;
  absl::Time created_at_;
  absl::Time updated_at_;
};

// NOT_FOUND/WALLET_NOT_FOUND for `id`: the one wording for a wallet that does not exist and for
// one of a tenant the caller does not reach, so the answer tells the two apart in no way.
absl::Status WalletNotFound(const WalletId& id);

// Timestamps are stored with microsecond precision; truncating before use makes a replayed result
// identical to the original one.
absl::Time TruncateToMicros(absl::Time t);

}  // namespace walletd
