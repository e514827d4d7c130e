#include "application/move_money.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "domain/errors.h"
#include "domain/status_macros.h"
#include "domain/text.h"

namespace walletd {
namespace {

Wallet* FindLocked(std::vector<Wallet>& locked, const std::optional<WalletId>& id) {
  if (!id) return nullptr;
  for (Wallet& wallet : locked) {
    if (wallet.id() == *id) return &wallet;
  }
  return nullptr;
}

absl::Status RunMovement(const MovePorts& ports, Context& ctx, const Movement& movement,
                         const TransferId& id, absl::Time now, std::optional<Transfer>* done) {
  done->reset();
  ASSIGN_OR_RETURN(std::vector<Wallet> locked,
                   ports.wallets.LockForUpdate(ctx, movement.WalletsInLockOrder()));
  Wallet* from = FindLocked(locked, movement.from());
  Wallet* to = FindLocked(locked, movement.to());
  if ((movement.from() && from == nullptr) || (movement.to() && to == nullptr)) {
    return absl::InternalError("LockForUpdate returned other wallets than asked for");
  }
  const int64_t from_version = from ? from->version() : 0;
  const int64_t to_version = to ? to->version() : 0;
  ASSIGN_OR_RETURN(Transfer transfer, movement.Apply(id, now, from, to));
  if (from) RETURN_IF_ERROR(ports.wallets.Save(ctx, *from, from_version));
  if (to) RETURN_IF_ERROR(ports.wallets.Save(ctx, *to, to_version));
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

absl::StatusOr<MoveResult> MoveMoney(const MovePorts& ports, Context& ctx, const Movement& movement,
                                     const WalletId& reported) {
  RETURN_IF_ERROR(ctx.Alive());
  const TransferId id = ports.ids.NewTransferId();
  const absl::Time now = ports.clock.Now();
  std::optional<Transfer> done;
  absl::Status status = ports.transactor.WithinTransaction(
      ctx, ports.tx_options,
      [&](Context& tx_ctx) { return RunMovement(ports, tx_ctx, movement, id, now, &done); });
  if (status.ok()) {
    if (!done) return absl::InternalError("the transaction committed without a transfer");
    return Report(std::move(*done), reported, false);
  }
  // Success stays cheap: the request id is looked up only when the movement failed.
  if (!MayBeReplay(status)) return status;
  ASSIGN_OR_RETURN(std::optional<Transfer> prior,
                   ports.transfers.FindByRequestId(ctx, movement.request_id()));
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
