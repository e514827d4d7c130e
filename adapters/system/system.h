#pragma once
// The real clock and id generator.

#include <mutex>

#include "absl/random/random.h"
#include "ports/clock.h"
#include "ports/id_generator.h"

namespace walletd {

class SystemClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
};

// UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered ids keep the
// B-tree inserts of transfers near the right edge of the index instead of all over it.
class UuidV7Generator final : public IdGenerator {
 public:
  WalletId NewWalletId() override;
  TransferId NewTransferId() override;

 private:
  std::string Next();
  std::mutex mu_;
  absl::BitGen bits_;
};

}  // namespace walletd
