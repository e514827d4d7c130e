#pragma once
// The Postgres repositories: they find the transaction in the Context through the Executor and
// neither know nor care whether there is one.

#include "adapters/postgres/transaction.h"
#include "ports/transfer_repository.h"
#include "ports/wallet_repository.h"

namespace walletd::pg {

class WalletRepository final : public walletd::WalletRepository {
 public:
  explicit WalletRepository(Executor& executor) : executor_(executor) {}

  absl::StatusOr<Wallet> Get(Context& ctx, const WalletId& id) override;
  absl::StatusOr<std::vector<Wallet>> LockForUpdate(Context& ctx,
                                                    absl::Span<const WalletId> ids) override;
  absl::Status Create(Context& ctx, const Wallet& wallet) override;
  absl::StatusOr<std::optional<Wallet>> FindByRequestId(Context& ctx, const Tenant& tenant,
                                                        const RequestId& request_id) override;
  absl::Status SaveAll(Context& ctx, absl::Span<const Wallet> wallets,
                       absl::Span<const int64_t> expected_versions) override;

 private:
  Executor& executor_;
};

class TransferRepository final : public walletd::TransferRepository {
 public:
  explicit TransferRepository(Executor& executor) : executor_(executor) {}

  absl::Status Insert(Context& ctx, const Transfer& transfer) override;
  absl::StatusOr<std::optional<Transfer>> FindByRequestId(Context& ctx, const Tenant& tenant,
                                                          const RequestId& request_id) override;
  absl::StatusOr<Transfer> FindById(Context& ctx, const TransferId& id) override;
  absl::StatusOr<std::vector<Transfer>> ListByWallet(Context& ctx, const WalletId& wallet,
                                                     std::optional<int64_t> before_version,
                                                     int limit) override;

 private:
  Executor& executor_;
};

}  // namespace walletd::pg
