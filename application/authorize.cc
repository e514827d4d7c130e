#include "application/authorize.h"

#include "absl/strings/str_cat.h"
#include "domain/errors.h"
#include "domain/status_macros.h"
#include "domain/text.h"

namespace walletd {

absl::StatusOr<const Caller*> RequireScope(const Context& ctx, Scope scope) {
  const Caller* caller = ctx.caller();
  if (caller == nullptr) {
    return DomainError(absl::StatusCode::kUnauthenticated, reason::kUnauthenticated,
                       "the call carries no valid credentials");
  }
  if (!caller->Has(scope)) {
    return WithMetadata(
        DomainError(absl::StatusCode::kPermissionDenied, reason::kMissingScope,
                    absl::StrCat("this call needs the scope ", AsAbsl(ScopeName(scope)))),
        "scope", ScopeName(scope));
  }
  return caller;
}

absl::Status CheckReaches(const Caller& caller, const Wallet& wallet) {
  if (caller.Reaches(wallet.tenant().str())) return absl::OkStatus();
  return WalletNotFound(wallet.id());
}

absl::Status CheckReaches(const Caller& caller, const Transfer& transfer) {
  if (caller.Reaches(transfer.tenant.str())) return absl::OkStatus();
  return TransferNotFound(transfer.id);
}

absl::StatusOr<std::optional<Tenant>> OwnTenant(const Caller& caller) {
  if (caller.all_tenants) return std::optional<Tenant>();
  absl::StatusOr<Tenant> own = Tenant::Parse(caller.tenant);
  // The adapter that authenticated the caller validated its tenant: a bad one is a defect.
  if (!own.ok()) return absl::InternalError("the caller's tenant is malformed");
  return std::optional<Tenant>(*std::move(own));
}

absl::StatusOr<Tenant> TenantOfNewWallet(const Caller& caller, std::string_view requested) {
  ASSIGN_OR_RETURN(std::optional<Tenant> own, OwnTenant(caller));
  if (!own) {
    if (requested.empty()) return Tenant::Default();
    return Tenant::Parse(requested);
  }
  if (!requested.empty() && requested != own->str()) {
    // Whether that tenant exists is none of this caller's business: the same answer for any name.
    return DomainError(absl::StatusCode::kPermissionDenied, reason::kTenantForbidden,
                       "this caller may create wallets only in its own tenant");
  }
  return *std::move(own);
}

}  // namespace walletd
