#include "ports/metrics.h"

namespace walletd {
namespace {

class Discard final : public Metrics {
 public:
  void CallFinished(std::string_view, absl::StatusCode, std::string_view,
                    absl::Duration) override {}
  void CallRefused(std::string_view, Refusal) override {}
  void TransactionBegun() override {}
  void TransactionRetried(std::string_view) override {}
  void TransactionFinished(TxOutcome, int) override {}
  void ConnectionAcquireWaited(absl::Duration) override {}
};

}  // namespace

Metrics& NoMetrics() {
  static Discard* const discard = new Discard();  // Never destroyed: threads may report at exit.
  return *discard;
}

}  // namespace walletd
