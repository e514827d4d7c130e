#include "application/create_wallet.h"

#include "absl/strings/str_cat.h"
#include "application/authorize.h"
#include "domain/errors.h"
#include "domain/status_macros.h"
#include "domain/text.h"

namespace walletd {

absl::StatusOr<CreateWalletHandler::Result> CreateWalletHandler::operator()(
    Context& ctx, const Command& command) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireScope(ctx, Scope::kWrite));
  ASSIGN_OR_RETURN(Tenant tenant, TenantOfNewWallet(*caller, command.tenant));
  ASSIGN_OR_RETURN(RequestId request_id, RequestId::Parse(command.request_id));
  ASSIGN_OR_RETURN(Currency currency, Currency::Parse(command.currency));
  RETURN_IF_ERROR(ctx.Alive());
  Wallet wallet = Wallet::Open(ids_.NewWalletId(), tenant, request_id, currency, clock_.Now());
  absl::Status created = wallets_.Create(ctx, wallet);
  if (created.ok()) return Result{std::move(wallet), false};
  if (!HasReason(created, reason::kDuplicateRequestId)) return created;
  ASSIGN_OR_RETURN(std::optional<Wallet> prior, wallets_.FindByRequestId(ctx, tenant, request_id));
  if (!prior) {
    return absl::InternalError("a wallet's request id is taken but no wallet carries it");
  }
  if (!(prior->currency() == currency)) {
    return FailedPrecondition(
        reason::kIdempotencyKeyReused,
        absl::StrCat("request_id \"", request_id.str(), "\" already created wallet ",
                     prior->id().str(), " in ", AsAbsl(prior->currency().code())));
  }
  return Result{std::move(*prior), true};
}

}  // namespace walletd
