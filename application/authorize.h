#pragma once
// Who may do what: every use case asks here first. The driving adapter only authenticates (puts
// the Caller in the Context); the rules on scopes and tenants live here, so they hold whatever
// adapter calls the use cases, and unit tests with mocked ports cover them.

#include <string_view>

#include "absl/status/statusor.h"
#include "domain/caller.h"
#include "domain/ids.h"
#include "domain/transfer.h"
#include "domain/wallet.h"
#include "ports/context.h"

namespace walletd {

// The caller of `ctx`, when it holds `scope`. UNAUTHENTICATED/UNAUTHENTICATED when nobody
// authenticated (fail closed); PERMISSION_DENIED/MISSING_SCOPE, with ErrorInfo metadata "scope"
// naming it, when the caller lacks it.
absl::StatusOr<const Caller*> RequireScope(const Context& ctx, Scope scope);

// OK when `caller` reaches the wallet's tenant; otherwise WalletNotFound, exactly as for a wallet
// that does not exist, so that nothing tells another tenant's wallet from none.
absl::Status CheckReaches(const Caller& caller, const Wallet& wallet);
// The same for a transfer: TransferNotFound.
absl::Status CheckReaches(const Caller& caller, const Transfer& transfer);

// The tenant a new wallet of `caller` goes to: a tenant-bound caller's own (naming it is allowed,
// naming another is PERMISSION_DENIED/TENANT_FORBIDDEN); for a caller reaching every tenant,
// `requested`, or the default tenant when that is empty. INVALID_ARGUMENT/INVALID_TENANT for a
// malformed name.
absl::StatusOr<Tenant> TenantOfNewWallet(const Caller& caller, std::string_view requested);

// The tenant whose request ids a tenant-bound caller's requests use; nullopt for a caller reaching
// every tenant (its requests use the tenant of the wallets they touch).
absl::StatusOr<std::optional<Tenant>> OwnTenant(const Caller& caller);

}  // namespace walletd
