#include "application/move_money.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "application/authorize.h"
#include "domain/errors.h"
#include "domain/status_macros.h"
#include "domain/text.h"

namespace walletd {
namespace {

const Wallet* FindLocked(const std::vector<Wallet>& locked, const WalletId& id) {
  for (const Wallet& wallet : locked) {
    if (wallet.id() == id) return &wallet;
  }
  return nullptr;
}

// Runs inside the transaction. Sets `*wallets_tenant` to the tenant of the movement's wallets once
// they are locked, reachable and of one tenant.
absl::Status RunMovement(const MovePorts& ports, Context& ctx, const Caller& caller,
                         const Movement& movement, const TransferId& id, absl::Time now,
                         std::optional<Transfer>* done, std::optional<Tenant>* wallets_tenant) {
  done->reset();
  wallets_tenant->reset();
  const std::vector<WalletId> ids = movement.WalletsInLockOrder();
  ASSIGN_OR_RETURN(std::vector<Wallet> locked, ports.wallets.LockForUpdate(ctx, ids));
  // A missing wallet and one of a tenant the caller does not reach get the same answer, for the
  // first of them in lock order: which one is reported tells nothing either.
  for (const WalletId& wallet_id : ids) {
    const Wallet* wallet = FindLocked(locked, wallet_id);
    if (wallet == nullptr || !caller.Reaches(wallet->tenant().str())) {
      return WalletNotFound(wallet_id);
    }
  }
  if (locked.size() != ids.size()) {
    return absl::InternalError(absl::StrCat("locking ", ids.size(), " wallets returned ",
                                            locked.size()));
  }
  const bool one_tenant = std::all_of(locked.begin(), locked.end(), [&](const Wallet& w) {
    return w.tenant() == locked.front().tenant();
  });
  if (one_tenant) *wallets_tenant = locked.front().tenant();
  std::vector<int64_t> expected_versions;
  std::vector<Wallet*> touched;
  for (Wallet& wallet : locked) {
    expected_versions.push_back(wallet.version());
    touched.push_back(&wallet);
  }
  ASSIGN_OR_RETURN(Transfer transfer, movement.Apply(id, now, touched));
  RETURN_IF_ERROR(ports.wallets.SaveAll(ctx, locked, expected_versions));
  RETURN_IF_ERROR(ports.transfers.Insert(ctx, transfer));
  *done = std::move(transfer);
  return absl::OkStatus();
}

// Whether a failed movement may be explained by an earlier success of the same request: its
// request id was taken, or a business rule refused it because that success already moved money.
bool MayBeReplay(const absl::Status& status) {
  return HasReason(status, reason::kDuplicateRequestId) ||
         status.code() == absl::StatusCode::kFailedPrecondition ||
         status.code() == absl::StatusCode::kNotFound;
}

absl::StatusOr<MoveResult> Report(Transfer transfer, const WalletId& reported, bool replayed) {
  const Posting* posting = transfer.PostingOf(reported);
  if (posting == nullptr) {
    return absl::InternalError(absl::StrCat("transfer ", transfer.id.str(), " has no posting on ",
                                            reported.str()));
  }
  const int64_t balance_after = posting->balance_after;
  return MoveResult{std::move(transfer), balance_after, replayed};
}

}  // namespace

absl::StatusOr<MoveResult> MoveMoney(const MovePorts& ports, Context& ctx, const Caller& caller,
                                     const Movement& movement, const WalletId& reported) {
  ASSIGN_OR_RETURN(std::optional<Tenant> own_tenant, OwnTenant(caller));
  RETURN_IF_ERROR(ctx.Alive());
  const TransferId id = ports.ids.NewTransferId();
  const absl::Time now = ports.clock.Now();
  std::optional<Transfer> done;
  std::optional<Tenant> wallets_tenant;
  absl::Status status =
      ports.transactor.WithinTransaction(ctx, ports.tx_options, [&](Context& tx_ctx) {
        return RunMovement(ports, tx_ctx, caller, movement, id, now, &done, &wallets_tenant);
      });
  if (status.ok()) {
    if (!done) return absl::InternalError("the transaction committed without a transfer");
    return Report(std::move(*done), reported, false);
  }
  // Success stays cheap: the request id is looked up only when the movement failed.
  if (!MayBeReplay(status)) return status;
  // Request ids are unique per tenant. A tenant-bound caller's are its tenant's; a caller reaching
  // every tenant uses those of the wallets' tenant, and has none to look in when its wallets were
  // not found or belong to two tenants.
  const std::optional<Tenant>& tenant = own_tenant ? own_tenant : wallets_tenant;
  if (!tenant) return status;
  ASSIGN_OR_RETURN(std::optional<Transfer> prior,
                   ports.transfers.FindByRequestId(ctx, *tenant, movement.request_id()));
  if (!prior) {
    if (!HasReason(status, reason::kDuplicateRequestId)) return status;
    // The holder of the request id is gone again: only a concurrent rollback can do that.
    return DomainError(absl::StatusCode::kAborted, reason::kTransactionConflict,
                       "a concurrent request with the same request_id did not finish; retry");
  }
  if (!movement.SamePayloadAs(*prior)) {
    return FailedPrecondition(
        reason::kIdempotencyKeyReused,
        absl::StrCat("request_id \"", movement.request_id().str(), "\" was already used by ",
                     AsAbsl(KindName(prior->kind)), " ", prior->id.str(), " with another payload"));
  }
  return Report(std::move(*prior), reported, true);
}

}  // namespace walletd
