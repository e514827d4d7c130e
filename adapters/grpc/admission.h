#pragma once

#include <atomic>

namespace walletd::grpc_adapter {

// Backpressure: at most `running_max` calls run and `queued_max` wait; beyond that a call is
// refused at once (RESOURCE_EXHAUSTED) instead of piling up behind the others. Thread-safe.
class Admission {
 public:
  Admission(int running_max, int queued_max) : admitted_max_(running_max + queued_max) {}

  // True when the call may go on; it must then call Leave() exactly once.
  bool TryEnter() {
    int now = admitted_.load(std::memory_order_relaxed);
    while (now < admitted_max_) {
      if (admitted_.compare_exchange_weak(now, now + 1, std::memory_order_acq_rel)) return true;
    }
    return false;
  }
  void Leave() { admitted_.fetch_sub(1, std::memory_order_acq_rel); }

 private:
  const int admitted_max_;
  std::atomic<int> admitted_{0};
};

}  // namespace walletd::grpc_adapter
