#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "domain/ids.h"
#include "domain/wallet.h"
#include "ports/context.h"

namespace walletd {

/// Wallets in storage. Every method runs in the transaction carried by `ctx` when there is one,
/// and on its own (autocommit) otherwise. Implementations are thread-safe; a call's failures are
/// those of Transactor (DEADLINE_EXCEEDED, UNAVAILABLE, ...) plus the ones listed per method.
class WalletRepository {
 public:
  virtual ~WalletRepository() = default;

  /// The wallet with `id`, whatever its tenant (the use cases check who may see it);
  /// WalletNotFound(id) when there is none.
  virtual absl::StatusOr<Wallet> Get(Context& ctx, const WalletId& id) = 0;

  /// Locks the wallets `ids` (ascending, no duplicates) for update until the transaction ends,
  /// taking the locks in that order, and returns those that exist in that order: a missing one is
  /// left out, not an error, so that the use case answers a missing wallet and one of another
  /// tenant alike. Only inside a transaction.
  virtual absl::StatusOr<std::vector<Wallet>> LockForUpdate(Context& ctx,
                                                            absl::Span<const WalletId> ids) = 0;

  /// Stores a new wallet. ALREADY_EXISTS/DUPLICATE_REQUEST_ID when its request id is taken in its
  /// tenant (request ids are unique per tenant).
  virtual absl::Status Create(Context& ctx, const Wallet& wallet) = 0;

  /// The wallet of `tenant` created by the request `request_id`, if any.
  virtual absl::StatusOr<std::optional<Wallet>> FindByRequestId(Context& ctx, const Tenant& tenant,
                                                                const RequestId& request_id) = 0;

  /// Writes each wallet's balance, version and update time, provided its stored version is still
  /// the matching entry of `expected_versions` (one per wallet; the wallets are distinct), all or
  /// none: ABORTED/VERSION_CONFLICT when any is stale. Inside a transaction the write may be
  /// deferred to COMMIT, and its error then comes from Transactor::WithinTransaction.
  virtual absl::Status SaveAll(Context& ctx, absl::Span<const Wallet> wallets,
                               absl::Span<const int64_t> expected_versions) = 0;

  /// SaveAll of one wallet.
  absl::Status Save(Context& ctx, const Wallet& wallet, int64_t expected_version) {
    return SaveAll(ctx, absl::MakeConstSpan(&wallet, 1), absl::MakeConstSpan(&expected_version, 1));
  }
};

}  // namespace walletd
