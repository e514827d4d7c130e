#pragma once
// Who makes a call, and what it may do: the identity the driving adapter authenticated (an API
// token's name, scopes and tenant), which the use cases check. A caller bound to a tenant sees and
// moves only that tenant's wallets; a platform caller reaches every tenant.

#include <cstdint>
#include <string>
#include <string_view>

namespace walletd {

enum class Scope : uint32_t {
  kRead = 1u << 0,   // wallets:read: Balance, GetTransfer, ListTransfers.
  kWrite = 1u << 1,  // wallets:write: CreateWallet, Deposit, Withdraw, Transfer.
};

// The scope's name in tokens files and errors: "wallets:read", "wallets:write".
std::string_view ScopeName(Scope scope);

// The tenant of wallets created without one, and of every wallet created before tenants existed.
inline constexpr std::string_view kDefaultTenant = "default";

struct Caller {
  // For logs: the token's name, never the token.
  std::string name;
  // The tenant it is confined to; ignored when all_tenants.
  std::string tenant;
  bool all_tenants = false;
  uint32_t scopes = 0;

  bool Has(Scope scope) const { return (scopes & static_cast<uint32_t>(scope)) != 0; }
  // Whether it may see and move wallets of `wallet_tenant`.
  bool Reaches(std::string_view wallet_tenant) const {
    return all_tenants || tenant == wallet_tenant;
  }

  // Every scope on every tenant: the caller of a walletd started with --insecure (no tokens).
  static Caller Unrestricted(std::string name) {
    return Caller{std::move(name), std::string(kDefaultTenant), true,
                  static_cast<uint32_t>(Scope::kRead) | static_cast<uint32_t>(Scope::kWrite)};
  }
};

}  // namespace walletd
