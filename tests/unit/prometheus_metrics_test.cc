// The Prometheus adapter: the series that given events make, read back from the text exposition
// it serves (parsed here), and its /metrics listener.

#include "adapters/prometheus/prometheus_metrics.h"

#include <atomic>
#include <map>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/exposition.h"
#include "tests/support/http_get.h"

namespace walletd::prometheus_adapter {
namespace {

using walletd::testing::HttpGet;
using walletd::testing::Samples;

const BuildInfo kBuild{"1.2.3", "Release", "GNU 12.2.0"};

// Each family's TYPE, by name.
std::map<std::string, std::string> Types(const std::string& exposition) {
  std::map<std::string, std::string> types;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream words(line.substr(7));
    std::string name, type;
    words >> name >> type;
    types[name] = type;
  }
  return types;
}

TEST(PrometheusMetricsTest, CallsAreCountedByMethodCodeAndReason) {
  PrometheusMetrics metrics(kBuild);
  metrics.CallFinished("Transfer", absl::StatusCode::kOk, "", absl::Milliseconds(2));
  metrics.CallFinished("Transfer", absl::StatusCode::kOk, "", absl::Milliseconds(4));
  metrics.CallFinished("Transfer", absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_FUNDS",
                       absl::Milliseconds(40));
  metrics.CallFinished("Balance", absl::StatusCode::kNotFound, "WALLET_NOT_FOUND",
                       absl::Microseconds(300));

  auto s = Samples(metrics.Exposition());
  EXPECT_EQ(s[R"(walletd_calls_total{code="OK",method="Transfer",reason=""})"], 2);
  EXPECT_EQ(s[R"(walletd_calls_total{code="FAILED_PRECONDITION",method="Transfer",reason="INSUFFICIENT_FUNDS"})"], 1);
  EXPECT_EQ(s[R"(walletd_calls_total{code="NOT_FOUND",method="Balance",reason="WALLET_NOT_FOUND"})"], 1);
  EXPECT_EQ(s[R"(walletd_call_duration_seconds_count{method="Transfer"})"], 3);
  EXPECT_DOUBLE_EQ(s[R"(walletd_call_duration_seconds_sum{method="Transfer"})"], 0.046);
  EXPECT_EQ(s[R"(walletd_call_duration_seconds_bucket{method="Transfer",le="0.001"})"], 0);
  EXPECT_EQ(s[R"(walletd_call_duration_seconds_bucket{method="Transfer",le="0.003"})"], 1);
  EXPECT_EQ(s[R"(walletd_call_duration_seconds_bucket{method="Transfer",le="0.005"})"], 2);
  EXPECT_EQ(s[R"(walletd_call_duration_seconds_bucket{method="Transfer",le="0.05"})"], 3);
  EXPECT_EQ(s[R"(walletd_call_duration_seconds_bucket{method="Transfer",le="+Inf"})"], 3);
  EXPECT_EQ(s[R"(walletd_call_duration_seconds_bucket{method="Balance",le="0.0005"})"], 1);
}

TEST(PrometheusMetricsTest, RefusalsAreCountedByMethodAndWhy) {
  PrometheusMetrics metrics(kBuild);
  metrics.CallRefused("Transfer", Refusal::kQueueFull);
  metrics.CallRefused("Transfer", Refusal::kQueueFull);
  metrics.CallRefused("Deposit", Refusal::kWaitedTooLong);
  metrics.CallRefused("Deposit", Refusal::kEvicted);
  metrics.CallRefused("Balance", Refusal::kUnmeetable);

  auto s = Samples(metrics.Exposition());
  EXPECT_EQ(s[R"(walletd_calls_refused_total{method="Transfer",why="queue_full"})"], 2);
  EXPECT_EQ(s[R"(walletd_calls_refused_total{method="Deposit",why="waited_too_long"})"], 1);
  EXPECT_EQ(s[R"(walletd_calls_refused_total{method="Deposit",why="evicted"})"], 1);
  EXPECT_EQ(s[R"(walletd_calls_refused_total{method="Balance",why="unmeetable"})"], 1);
}

TEST(PrometheusMetricsTest, TransactionsAreCountedByOutcomeWithTheirAttemptsAndRetries) {
  PrometheusMetrics metrics(kBuild);
  for (int i = 0; i < 3; ++i) metrics.TransactionBegun();
  metrics.TransactionFinished(TxOutcome::kCommitted, 1);
  metrics.TransactionRetried("40");
  metrics.TransactionRetried("40");
  metrics.TransactionFinished(TxOutcome::kRolledBack, 3);
  metrics.TransactionRetried("08");
  metrics.TransactionFinished(TxOutcome::kOutcomeUnknown, 2);

  auto s = Samples(metrics.Exposition());
  EXPECT_EQ(s["walletd_transactions_begun_total"], 3);
  EXPECT_EQ(s[R"(walletd_transactions_finished_total{outcome="committed"})"], 1);
  EXPECT_EQ(s[R"(walletd_transactions_finished_total{outcome="rolled_back"})"], 1);
  EXPECT_EQ(s[R"(walletd_transactions_finished_total{outcome="outcome_unknown"})"], 1);
  EXPECT_EQ(s[R"(walletd_transaction_retries_total{sqlstate_class="40"})"], 2);
  EXPECT_EQ(s[R"(walletd_transaction_retries_total{sqlstate_class="08"})"], 1);
  EXPECT_EQ(s["walletd_transaction_attempts_count"], 3);
  EXPECT_EQ(s["walletd_transaction_attempts_sum"], 6);
  EXPECT_EQ(s[R"(walletd_transaction_attempts_bucket{le="1"})"], 1);
  EXPECT_EQ(s[R"(walletd_transaction_attempts_bucket{le="2"})"], 2);
  EXPECT_EQ(s[R"(walletd_transaction_attempts_bucket{le="3"})"], 3);
}

TEST(PrometheusMetricsTest, AcquireWaitsFillTheirHistogram) {
  PrometheusMetrics metrics(kBuild);
  metrics.ConnectionAcquireWaited(absl::Microseconds(5));
  metrics.ConnectionAcquireWaited(absl::Milliseconds(3));
  metrics.ConnectionAcquireWaited(absl::Seconds(1));

  auto s = Samples(metrics.Exposition());
  EXPECT_EQ(s["walletd_db_pool_acquire_wait_seconds_count"], 3);
  EXPECT_EQ(s[R"(walletd_db_pool_acquire_wait_seconds_bucket{le="1e-05"})"], 1);
  EXPECT_EQ(s[R"(walletd_db_pool_acquire_wait_seconds_bucket{le="0.0025"})"], 1);
  EXPECT_EQ(s[R"(walletd_db_pool_acquire_wait_seconds_bucket{le="0.005"})"], 2);
  EXPECT_EQ(s[R"(walletd_db_pool_acquire_wait_seconds_bucket{le="1"})"], 3);
}

TEST(PrometheusMetricsTest, FixedSeriesExistAtZeroBeforeAnyEvent) {
  // So that rate() and increase() see the first event as one, not as the series' birth.
  PrometheusMetrics metrics(kBuild);
  auto s = Samples(metrics.Exposition());
  ASSERT_EQ(s.count("walletd_transactions_begun_total"), 1u);
  EXPECT_EQ(s["walletd_transactions_begun_total"], 0);
  for (const char* outcome : {"committed", "rolled_back", "outcome_unknown"}) {
    EXPECT_EQ(s.count(std::string(R"(walletd_transactions_finished_total{outcome=")") + outcome +
                      "\"}"),
              1u)
        << outcome;
  }
  EXPECT_EQ(s.count(R"(walletd_transaction_retries_total{sqlstate_class="40"})"), 1u);
  EXPECT_EQ(s.count(R"(walletd_transaction_retries_total{sqlstate_class="08"})"), 1u);
  EXPECT_EQ(s[R"(walletd_build_info{build_type="Release",compiler="GNU 12.2.0",version="1.2.3"})"],
            1);
}

TEST(PrometheusMetricsTest, SeriesFollowPrometheusNaming) {
  PrometheusMetrics metrics(kBuild);
  metrics.CallFinished("Transfer", absl::StatusCode::kOk, "", absl::Milliseconds(1));
  metrics.CallRefused("Transfer", Refusal::kQueueFull);
  const Snapshot snapshot;
  const auto types = Types(metrics.Exposition(&snapshot));
  int walletd_families = 0;
  for (const auto& [name, type] : types) {
    if (name.rfind("walletd_", 0) != 0) continue;  // prometheus-cpp's own exposer_ series.
    ++walletd_families;
    if (type == "counter") {
      EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total") << name;
    } else {
      EXPECT_EQ(name.find("_total"), std::string::npos) << name << " is a " << type;
    }
    if (type == "histogram") {
      EXPECT_TRUE(name.find("_seconds") != std::string::npos ||
                  name.find("_attempts") != std::string::npos)
          << name << ": histograms are in base units";
    }
  }
  EXPECT_EQ(walletd_families, 20);
}

TEST(PrometheusMetricsTest, ServesTheEventsAndAFreshSnapshotAtEachScrape) {
  PrometheusMetrics metrics(kBuild);
  std::atomic<int> queued{3};
  auto server = metrics.Serve("127.0.0.1:0", [&] {
    Snapshot s;
    s.calls_running = 2;
    s.calls_queued = queued.load();
    s.pool_connections = 5;
    s.pool_idle = 1;
    s.pool_max = 8;
    s.pool_waiting = 4;
    s.connections_opened = 7;
    s.connections_closed = 2;
    s.round_trips = 99;
    return s;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT((*server)->address(), ::testing::StartsWith("127.0.0.1:"));
  EXPECT_NE((*server)->address(), "127.0.0.1:0");
  metrics.CallFinished("Deposit", absl::StatusCode::kOk, "", absl::Milliseconds(1));

  auto reply = HttpGet((*server)->address(), "/metrics");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  auto s = Samples(reply->body);
  EXPECT_EQ(s[R"(walletd_calls_total{code="OK",method="Deposit",reason=""})"], 1);
  EXPECT_EQ(s["walletd_calls_in_flight"], 2);
  EXPECT_EQ(s["walletd_calls_queued"], 3);
  EXPECT_EQ(s["walletd_db_pool_connections"], 5);
  EXPECT_EQ(s["walletd_db_pool_connections_in_use"], 4);
  EXPECT_EQ(s["walletd_db_pool_connections_max"], 8);
  EXPECT_EQ(s["walletd_db_pool_waiting"], 4);
  EXPECT_EQ(s["walletd_db_connections_opened_total"], 7);
  EXPECT_EQ(s["walletd_db_connections_closed_total"], 2);
  EXPECT_EQ(s["walletd_db_round_trips_total"], 99);

  queued = 0;
  metrics.CallFinished("Deposit", absl::StatusCode::kOk, "", absl::Milliseconds(1));
  reply = HttpGet((*server)->address(), "/metrics");
  ASSERT_TRUE(reply.has_value());
  s = Samples(reply->body);
  EXPECT_EQ(s["walletd_calls_queued"], 0);
  EXPECT_EQ(s[R"(walletd_calls_total{code="OK",method="Deposit",reason=""})"], 2);

  reply = HttpGet((*server)->address(), "/");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 404) << "only /metrics is served";
}

TEST(PrometheusMetricsTest, StopsServingWhenTheServerGoes) {
  PrometheusMetrics metrics(kBuild);
  auto server = metrics.Serve("127.0.0.1:0", [] { return Snapshot(); });
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  ASSERT_TRUE(HttpGet(address, "/metrics").has_value());
  server->reset();
  EXPECT_FALSE(HttpGet(address, "/metrics", absl::Seconds(1)).has_value());
}

TEST(PrometheusMetricsTest, AnAddressThatCannotBeServedIsAnError) {
  PrometheusMetrics metrics(kBuild);
  EXPECT_THAT(metrics.Serve("localhost", [] { return Snapshot(); }).status().code(),
              absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(metrics.Serve("127.0.0.1:http", [] { return Snapshot(); }).status().code(),
              absl::StatusCode::kInvalidArgument);
  auto first = metrics.Serve("127.0.0.1:0", [] { return Snapshot(); });
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(metrics.Serve((*first)->address(), [] { return Snapshot(); }).status().code(),
            absl::StatusCode::kUnavailable)
      << "the port is taken";
}

}  // namespace
}  // namespace walletd::prometheus_adapter
