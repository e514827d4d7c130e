#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/ids.h"
#include "domain/transfer.h"
#include "ports/context.h"

namespace walletd {

/// The ledger: transfers and their postings, append-only. Runs in the transaction carried by
/// `ctx` when there is one, on its own otherwise; thread-safe. Failures are those of Transactor
/// plus the ones listed per method.
class TransferRepository {
 public:
  virtual ~TransferRepository() = default;

  /// Appends a transfer with its postings, in its tenant (that of its wallets).
  /// ALREADY_EXISTS/DUPLICATE_REQUEST_ID when its request id is taken in that tenant (request ids
  /// are unique per tenant); ABORTED/VERSION_CONFLICT when a posting's wallet version is already recorded.
  /// Inside a transaction the write may be deferred to COMMIT, and its error then comes from
  /// Transactor::WithinTransaction.
  virtual absl::Status Insert(Context& ctx, const Transfer& transfer) = 0;

  /// The transfer of `tenant` recorded for the request `request_id`, if any.
  virtual absl::StatusOr<std::optional<Transfer>> FindByRequestId(
      Context& ctx, const Tenant& tenant, const RequestId& request_id) = 0;

  /// The transfer `id`, whatever its tenant; TransferNotFound(id) when there is none.
  virtual absl::StatusOr<Transfer> FindById(Context& ctx, const TransferId& id) = 0;

  /// Up to `limit` (> 0) transfers that touched `wallet`, newest first: those whose posting on
  /// `wallet` has a wallet version below `before_version` (all when empty). Each transfer carries
  /// all of its postings. An unknown wallet yields an empty list.
  virtual absl::StatusOr<std::vector<Transfer>> ListByWallet(Context& ctx, const WalletId& wallet,
                                                             std::optional<int64_t> before_version,
                                                             int limit) = 0;
};

}  // namespace walletd
