#pragma once

#include "domain/ids.h"

namespace walletd {

/// New, globally unique ids for wallets and transfers. Thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual WalletId NewWalletId() = 0;
  virtual TransferId NewTransferId() = 0;
};

}  // namespace walletd
