#pragma once
// The Metrics port on prometheus-cpp: walletd's series in a registry, served as Prometheus' text
// exposition on a /metrics listener of its own.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ports/metrics.h"

namespace prometheus {
class Counter;
class Exposer;
class Gauge;
class Histogram;
class Registry;
class Collectable;
template <class T>
class Family;
}  // namespace prometheus

namespace walletd::prometheus_adapter {

// What walletd_build_info{...} 1 says.
struct BuildInfo {
  std::string version;
  std::string build_type;
  std::string compiler;
};

// What the adapters keep themselves and the exposition reads at each scrape: gauges of the
// moment and counters that only grow.
struct Snapshot {
  int calls_running = 0;
  int calls_queued = 0;
  int pool_connections = 0;  // Open, idle or leased.
  int pool_idle = 0;
  int pool_max = 0;
  int pool_waiting = 0;  // Callers waiting for a connection.
  int64_t connections_opened = 0;
  int64_t connections_closed = 0;
  int64_t connect_failures = 0;
  int64_t acquire_timeouts = 0;
  int64_t round_trips = 0;
};

class MetricsServer;

// Keeps walletd's series (names in the .cc; every label value from a fixed set). Thread-safe.
class PrometheusMetrics final : public Metrics {
 public:
  explicit PrometheusMetrics(const BuildInfo& build);
  ~PrometheusMetrics() override;
  PrometheusMetrics(const PrometheusMetrics&) = delete;
  PrometheusMetrics& operator=(const PrometheusMetrics&) = delete;

  void CallFinished(std::string_view method, absl::StatusCode code, std::string_view reason,
                    absl::Duration duration) override;
  void CallRefused(std::string_view method, Refusal why) override;
  void TransactionBegun() override;
  void TransactionRetried(std::string_view sqlstate_class) override;
  void TransactionFinished(TxOutcome outcome, int attempts) override;
  void ConnectionAcquireWaited(absl::Duration waited) override;

  // The text exposition, as /metrics serves it: the event series and, when given, a snapshot's.
  std::string Exposition(const Snapshot* snapshot = nullptr) const;

  // Serves GET /metrics on `address` (host:port; port 0 picks one) until the returned server is
  // destroyed. `snapshot` runs on the listener's threads at each scrape, so what it reads must
  // outlive the server; this object must too. No authentication: bind a private interface.
  // INVALID_ARGUMENT for an address without a port, UNAVAILABLE when it cannot be bound.
  absl::StatusOr<std::unique_ptr<MetricsServer>> Serve(const std::string& address,
                                                       std::function<Snapshot()> snapshot);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* calls_;
  prometheus::Family<prometheus::Histogram>* call_seconds_;
  prometheus::Family<prometheus::Counter>* refused_;
  prometheus::Counter* begun_;
  prometheus::Counter* committed_;
  prometheus::Counter* rolled_back_;
  prometheus::Counter* outcome_unknown_;
  prometheus::Family<prometheus::Counter>* retries_;
  prometheus::Histogram* attempts_;
  prometheus::Histogram* acquire_seconds_;
};

// The /metrics listener; stops serving when destroyed.
class MetricsServer {
 public:
  ~MetricsServer();
  // host:port as bound (the port chosen when 0 was asked for).
  const std::string& address() const { return address_; }

 private:
  friend class PrometheusMetrics;
  MetricsServer() = default;
  std::shared_ptr<prometheus::Collectable> snapshot_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string address_;
};

}  // namespace walletd::prometheus_adapter
