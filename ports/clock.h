#pragma once

#include "absl/time/time.h"

namespace walletd {

/// The time stamped on wallets and transfers. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
};

}  // namespace walletd
