#include "domain/caller.h"

namespace walletd {

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kRead:
      return "wallets:read";
    case Scope::kWrite:
      return "wallets:write";
  }
  return "unknown";
}

}  // namespace walletd
