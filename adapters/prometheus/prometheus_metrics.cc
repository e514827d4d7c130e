#include "adapters/prometheus/prometheus_metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace walletd::prometheus_adapter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Calls take 0.3 to 50 ms when all is well; the tail up to the default 10 s deadline shows
// trouble, so it gets fewer, coarser buckets.
const prometheus::Histogram::BucketBoundaries kCallBuckets = {
    0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02,
    0.03,    0.05,   0.075, 0.1,   0.25,  0.5,   1,      2.5,  5,     10};
// A free connection is handed out in microseconds; a wait of milliseconds means the pool ran out.
// The default bound on a wait is 1 s.
const prometheus::Histogram::BucketBoundaries kAcquireBuckets = {
    0.00001, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
// Runs of a transaction's closure; the default maximum is 5.
const prometheus::Histogram::BucketBoundaries kAttemptBuckets = {1, 2, 3, 4, 5, 7, 10};
// The listener's threads: scrapes come every few seconds from one or two servers.
constexpr char kListenerThreads[] = "2";
// A scraper that stalls mid-request is cut off after this long.
constexpr char kRequestTimeoutMs[] = "5000";

const char* RefusalName(Refusal why) {
  switch (why) {
    case Refusal::kQueueFull:
      return "queue_full";
    case Refusal::kWaitedTooLong:
      return "waited_too_long";
    case Refusal::kEvicted:
      return "evicted";
    case Refusal::kUnmeetable:
      return "unmeetable";
  }
  return "unknown";
}

MetricFamily Family(const char* name, const char* help, MetricType type, double value) {
  ClientMetric metric;
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return MetricFamily{name, help, type, {metric}};
}

// The Snapshot's series, read at each scrape.
class SnapshotCollector final : public prometheus::Collectable {
 public:
  explicit SnapshotCollector(std::function<Snapshot()> read) : read_(std::move(read)) {}

  std::vector<MetricFamily> Collect() const override { return Families(read_()); }

  static std::vector<MetricFamily> Families(const Snapshot& s) {
    constexpr MetricType kGauge = MetricType::Gauge;
    constexpr MetricType kCounter = MetricType::Counter;
    return {
        Family("walletd_calls_in_flight", "Calls running a use case now.", kGauge,
               s.calls_running),
        Family("walletd_calls_queued", "Calls admitted and waiting for a worker now.", kGauge,
               s.calls_queued),
        Family("walletd_db_pool_connections", "Database connections open (idle or in use).",
               kGauge, s.pool_connections),
        Family("walletd_db_pool_connections_in_use", "Database connections leased to a caller.",
               kGauge, s.pool_connections - s.pool_idle),
        Family("walletd_db_pool_connections_max", "The most database connections ever open.",
               kGauge, s.pool_max),
        Family("walletd_db_pool_waiting", "Callers waiting for a database connection now.", kGauge,
               s.pool_waiting),
        Family("walletd_db_connections_opened_total", "Database connections opened.", kCounter,
               static_cast<double>(s.connections_opened)),
        Family("walletd_db_connections_closed_total", "Database connections closed.", kCounter,
               static_cast<double>(s.connections_closed)),
        Family("walletd_db_connect_failures_total", "Database connection attempts that failed.",
               kCounter, static_cast<double>(s.connect_failures)),
        Family("walletd_db_pool_acquire_timeouts_total",
               "Waits for a database connection that ended without one.", kCounter,
               static_cast<double>(s.acquire_timeouts)),
        Family("walletd_db_round_trips_total", "Round trips to the database.", kCounter,
               static_cast<double>(s.round_trips)),
    };
  }

 private:
  const std::function<Snapshot()> read_;
};

}  // namespace

PrometheusMetrics::PrometheusMetrics(const BuildInfo& build)
    : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name("walletd_build_info")
      .Help("Always 1; the labels say which build of walletd runs.")
      .Register(*registry_)
      .Add({{"version", build.version},
            {"build_type", build.build_type},
            {"compiler", build.compiler}})
      .Set(1);
  calls_ = &prometheus::BuildCounter()
                .Name("walletd_calls_total")
                .Help("Calls answered, by method, gRPC code and ErrorInfo reason.")
                .Register(*registry_);
  call_seconds_ = &prometheus::BuildHistogram()
                       .Name("walletd_call_duration_seconds")
                       .Help("Time from a call's arrival to its answer, queueing included.")
                       .Register(*registry_);
  refused_ = &prometheus::BuildCounter()
                  .Name("walletd_calls_refused_total")
                  .Help("Calls answered by admission control without running, by method and why.")
                  .Register(*registry_);
  begun_ = &prometheus::BuildCounter()
                .Name("walletd_transactions_begun_total")
                .Help("Database transactions begun (nested ones join their outer one).")
                .Register(*registry_)
                .Add({});
  auto& finished = prometheus::BuildCounter()
                       .Name("walletd_transactions_finished_total")
                       .Help("Database transactions ended, by outcome.")
                       .Register(*registry_);
  committed_ = &finished.Add({{"outcome", "committed"}});
  rolled_back_ = &finished.Add({{"outcome", "rolled_back"}});
  outcome_unknown_ = &finished.Add({{"outcome", "outcome_unknown"}});
  retries_ = &prometheus::BuildCounter()
                  .Name("walletd_transaction_retries_total")
                  .Help("Transactions run again after a transient failure, by SQLSTATE class "
                        "(40: serialization failure or deadlock, 08: connection lost).")
                  .Register(*registry_);
  retries_->Add({{"sqlstate_class", "40"}});
  retries_->Add({{"sqlstate_class", "08"}});
  attempts_ = &prometheus::BuildHistogram()
                   .Name("walletd_transaction_attempts")
                   .Help("Runs of a transaction's closure, per transaction.")
                   .Register(*registry_)
                   .Add({}, kAttemptBuckets);
  acquire_seconds_ = &prometheus::BuildHistogram()
                          .Name("walletd_db_pool_acquire_wait_seconds")
                          .Help("Time a caller waited for a pooled database connection.")
                          .Register(*registry_)
                          .Add({}, kAcquireBuckets);
}

PrometheusMetrics::~PrometheusMetrics() = default;

void PrometheusMetrics::CallFinished(std::string_view method, absl::StatusCode code,
                                     std::string_view reason, absl::Duration duration) {
  const std::string method_name(method);
  calls_
      ->Add({{"method", method_name},
             {"code", absl::StatusCodeToString(code)},
             {"reason", std::string(reason)}})
      .Increment();
  call_seconds_->Add({{"method", method_name}}, kCallBuckets)
      .Observe(absl::ToDoubleSeconds(duration));
}

void PrometheusMetrics::CallRefused(std::string_view method, Refusal why) {
  refused_->Add({{"method", std::string(method)}, {"why", RefusalName(why)}}).Increment();
}

void PrometheusMetrics::TransactionBegun() { begun_->Increment(); }

void PrometheusMetrics::TransactionRetried(std::string_view sqlstate_class) {
  retries_->Add({{"sqlstate_class", std::string(sqlstate_class)}}).Increment();
}

void PrometheusMetrics::TransactionFinished(TxOutcome outcome, int attempts) {
  switch (outcome) {
    case TxOutcome::kCommitted:
      committed_->Increment();
      break;
    case TxOutcome::kRolledBack:
      rolled_back_->Increment();
      break;
    case TxOutcome::kOutcomeUnknown:
      outcome_unknown_->Increment();
      break;
  }
  attempts_->Observe(attempts);
}

void PrometheusMetrics::ConnectionAcquireWaited(absl::Duration waited) {
  acquire_seconds_->Observe(absl::ToDoubleSeconds(waited));
}

std::string PrometheusMetrics::Exposition(const Snapshot* snapshot) const {
  std::vector<MetricFamily> families = registry_->Collect();
  if (snapshot != nullptr) {
    for (MetricFamily& family : SnapshotCollector::Families(*snapshot)) {
      families.push_back(std::move(family));
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

absl::StatusOr<std::unique_ptr<MetricsServer>> PrometheusMetrics::Serve(
    const std::string& address, std::function<Snapshot()> snapshot) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size() ||
      !std::all_of(address.begin() + static_cast<std::ptrdiff_t>(colon) + 1, address.end(),
                   absl::ascii_isdigit)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", address, "\" is not host:port"));
  }
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", address, "num_threads", kListenerThreads, "request_timeout_ms",
        kRequestTimeoutMs});
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address));
  }
  server->snapshot_ = std::make_shared<SnapshotCollector>(std::move(snapshot));
  server->exposer_->RegisterCollectable(registry_);
  server->exposer_->RegisterCollectable(server->snapshot_);
  server->address_ = absl::StrCat(address.substr(0, colon), ":", ports.front());
  return server;
}

MetricsServer::~MetricsServer() {
  exposer_.reset();  // Joins the listener's threads before the snapshot goes.
}

}  // namespace walletd::prometheus_adapter
