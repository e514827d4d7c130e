// walletd's /metrics as Prometheus sees it: a real Prometheus server on loopback scrapes a real
// walletd every second while calls that succeed and fail for distinct reasons go through; its
// query API must then show exactly that load. promtool checks the exposition itself.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/exposition.h"
#include "tests/support/http_get.h"

namespace walletd::testing {
namespace {

using ::grpc::StatusCode;

// How long Prometheus may take to start, and to scrape what the load left.
constexpr absl::Duration kPrometheusReadyMax = absl::Seconds(30);
constexpr absl::Duration kScrapeMax = absl::Seconds(30);

// A port free on loopback now (the kernel's pick); the server given it binds it a moment later.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  close(fd);
  return port;
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

// The address walletd logged for its /metrics listener, or "".
std::string MetricsAddressOf(const WalletdProcess& walletd) {
  static constexpr char kNeedle[] = "\"msg\":\"serving metrics\",\"address\":\"";
  for (const std::string& line : walletd.Lines()) {
    if (auto at = line.find(kNeedle); at != std::string::npos) {
      const size_t from = at + sizeof(kNeedle) - 1;
      return line.substr(from, line.find('"', from) - from);
    }
  }
  return "";
}

// A Prometheus server on loopback with its own storage in a temporary folder, scraping one
// target every second; stopped and removed when destroyed.
class Prometheus {
 public:
  explicit Prometheus(const std::string& target) {
    char folder[] = "/tmp/walletd-prometheus-XXXXXX";
    if (mkdtemp(folder) == nullptr) return;
    folder_ = folder;
    std::ofstream(folder_ + "/prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        << "scrape_configs:\n  - job_name: walletd\n    static_configs:\n"
        << "      - targets: ['" << target << "']\n";
    address_ = absl::StrCat("127.0.0.1:", FreePort());
    // WalletdProcess runs any program with its output captured; zero: no "listening" to await.
    process_ = WalletdProcess::Start(
        PROMETHEUS_BINARY,
        {"--config.file=" + folder_ + "/prometheus.yml", "--storage.tsdb.path=" + folder_ + "/data",
         "--web.listen-address=" + address_, "--log.level=warn"},
        absl::ZeroDuration());
  }

  ~Prometheus() {
    if (process_ != nullptr) {
      process_->Signal(SIGTERM);
      EXPECT_EQ(process_->Wait(absl::Seconds(20)), 0) << "Prometheus did not stop cleanly";
    }
    if (!folder_.empty()) std::filesystem::remove_all(folder_);
  }

  bool WaitUntilReady() const {
    const absl::Time give_up = absl::Now() + kPrometheusReadyMax;
    while (absl::Now() < give_up) {
      auto reply = HttpGet(address_, "/-/ready", absl::Seconds(1));
      if (reply.has_value() && reply->status == 200) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // The one value of an instant query's result, or nullopt when the result is empty (or the
  // query failed, which the test reports).
  std::optional<double> Value(const std::string& query) const {
    auto reply = HttpGet(address_, "/api/v1/query?query=" + UrlEncode(query));
    EXPECT_TRUE(reply.has_value() && reply->status == 200)
        << query << ": " << (reply ? reply->body : "no reply");
    if (!reply.has_value()) return std::nullopt;
    google::protobuf::Struct json;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(reply->body, &json).ok())
        << reply->body;
    const auto& result =
        json.fields().at("data").struct_value().fields().at("result").list_value().values();
    if (result.empty()) return std::nullopt;
    EXPECT_EQ(result.size(), 1) << query << " has several series: " << reply->body;
    // "value": [<unix time>, "<value as text>"]
    const auto& value = result[0].struct_value().fields().at("value").list_value().values();
    return std::stod(value[1].string_value());
  }

  std::string Log() const {
    std::string log;
    if (process_ != nullptr) {
      for (const std::string& line : process_->Lines()) log += line + "\n";
    }
    return log;
  }

 private:
  std::string folder_;
  std::string address_;
  std::unique_ptr<WalletdProcess> process_;
};

class MetricsTest : public E2eTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    walletd_ = StartWalletd({"--metrics_listen=127.0.0.1:0"});
    ASSERT_FALSE(walletd_->address().empty()) << "walletd did not start";
    stub_ = StubFor(*walletd_);
    metrics_address_ = MetricsAddressOf(*walletd_);
    ASSERT_FALSE(metrics_address_.empty()) << "walletd logged no metrics address";
  }

  ::grpc::Status Transfer(const std::string& rid, const std::string& from, const std::string& to,
                          int64_t amount) {
    wallet::v1::TransferResponse response;
    return stub_->Transfer(Client().get(), TransferOf(rid, from, to, amount), &response);
  }

  std::string metrics_address_;
};

TEST_F(MetricsTest, PrometheusScrapesSeriesThatMoveWithTheLoad) {
  Prometheus prometheus(metrics_address_);
  ASSERT_TRUE(prometheus.WaitUntilReady()) << "Prometheus did not start:\n" << prometheus.Log();

  // The load: 2 wallets opened, 1 deposit, 5 transfers that pass, 4 refused for 3 reasons,
  // 3 balances.
  const std::string alice = OpenWallet(10'000);
  const std::string bob = OpenWallet(0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Transfer(absl::StrCat("pay-", i), alice, bob, 100).ok());
  }
  EXPECT_THAT(Transfer("too-much-1", bob, alice, 1'000'000),
              GrpcIs(StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_FUNDS"));
  EXPECT_THAT(Transfer("too-much-2", bob, alice, 1'000'000),
              GrpcIs(StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_FUNDS"));
  EXPECT_THAT(Transfer("to-self", alice, alice, 1),
              GrpcIs(StatusCode::INVALID_ARGUMENT, "SAME_WALLET"));
  EXPECT_THAT(Transfer("to-nobody", alice, "01a205bc-216b-75fb-ac9c-22053a7e610e", 1),
              GrpcIs(StatusCode::NOT_FOUND, "WALLET_NOT_FOUND"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(WireBalance(bob), 500);
  const double load_end = absl::ToUnixMicros(absl::Now()) / 1e6;

  // A scrape that began after the last answer holds all of it.
  const absl::Time give_up = absl::Now() + kScrapeMax;
  std::optional<double> scraped;
  while (absl::Now() < give_up) {
    scraped = prometheus.Value(R"(timestamp(up{job="walletd"}))");
    if (scraped.has_value() && *scraped > load_end) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_TRUE(scraped.has_value() && *scraped > load_end)
      << "no scrape after the load within " << kScrapeMax << ":\n" << prometheus.Log();
  EXPECT_EQ(prometheus.Value(R"(up{job="walletd"})"), 1);

  auto calls = [&](const std::string& selector) {
    return prometheus.Value("sum(walletd_calls_total{" + selector + "})");
  };
  EXPECT_EQ(calls(R"(method="Transfer",code="OK",reason="")"), 5);
  EXPECT_EQ(calls(R"(method="Transfer",code="FAILED_PRECONDITION",reason="INSUFFICIENT_FUNDS")"), 2);
  EXPECT_EQ(calls(R"(method="Transfer",code="INVALID_ARGUMENT",reason="SAME_WALLET")"), 1);
  EXPECT_EQ(calls(R"(method="Transfer",code="NOT_FOUND",reason="WALLET_NOT_FOUND")"), 1);
  EXPECT_EQ(calls(R"(method="Transfer")"), 9);
  EXPECT_EQ(calls(R"(method="CreateWallet",code="OK")"), 2);
  EXPECT_EQ(calls(R"(method="Deposit",code="OK")"), 1);
  EXPECT_EQ(calls(R"(method="Balance",code="OK")"), 3);
  EXPECT_EQ(calls(""), 15) << "no other call was made";
  EXPECT_EQ(prometheus.Value(R"(walletd_call_duration_seconds_count{method="Transfer"})"), 9);
  EXPECT_EQ(prometheus.Value(R"(walletd_call_duration_seconds_bucket{method="Transfer",le="+Inf"})"), 9);
  auto transfer_seconds = prometheus.Value(R"(walletd_call_duration_seconds_sum{method="Transfer"})");
  ASSERT_TRUE(transfer_seconds.has_value());
  EXPECT_GT(*transfer_seconds, 0);
  EXPECT_LT(*transfer_seconds, 9 * 10.0) << "each within its 10 s deadline";
  EXPECT_EQ(prometheus.Value("sum(walletd_calls_refused_total)").value_or(0), 0)
      << "nothing was refused by admission";

  // Transactions: the 5 transfers and the deposit committed; the 2 refused for funds and the one
  // to a missing wallet rolled back; SAME_WALLET was refused before any transaction.
  auto committed = prometheus.Value(R"(walletd_transactions_finished_total{outcome="committed"})");
  auto rolled_back =
      prometheus.Value(R"(walletd_transactions_finished_total{outcome="rolled_back"})");
  auto begun = prometheus.Value("walletd_transactions_begun_total");
  ASSERT_TRUE(committed && rolled_back && begun);
  EXPECT_EQ(*committed, 6);
  EXPECT_EQ(*rolled_back, 3);
  EXPECT_EQ(prometheus.Value(R"(walletd_transactions_finished_total{outcome="outcome_unknown"})"), 0);
  EXPECT_EQ(*begun, *committed + *rolled_back) << "every transaction begun has ended";
  EXPECT_EQ(prometheus.Value("walletd_transaction_attempts_count"), *begun);
  EXPECT_EQ(prometheus.Value("sum(walletd_transaction_retries_total)"), 0) << "no contention";

  // The pool, read at scrape time, and the counters the adapters keep.
  EXPECT_EQ(prometheus.Value("walletd_db_pool_connections_max"), 8);
  auto open = prometheus.Value("walletd_db_pool_connections");
  ASSERT_TRUE(open.has_value());
  EXPECT_GE(*open, 1);
  EXPECT_EQ(prometheus.Value("walletd_db_pool_connections_in_use"), 0) << "the load is over";
  EXPECT_EQ(prometheus.Value("walletd_db_pool_waiting"), 0);
  EXPECT_EQ(prometheus.Value("walletd_calls_in_flight"), 0);
  EXPECT_EQ(prometheus.Value("walletd_calls_queued"), 0);
  EXPECT_GE(prometheus.Value("walletd_db_connections_opened_total").value_or(0), *open);
  EXPECT_GE(prometheus.Value("walletd_db_pool_acquire_wait_seconds_count").value_or(0), *begun);
  EXPECT_GE(prometheus.Value("walletd_db_round_trips_total").value_or(0), 2 * *committed)
      << "a transaction takes at least two round trips";
  EXPECT_EQ(prometheus.Value(R"(walletd_build_info{version!=""})"), 1);

  // What Prometheus stored is what walletd serves now (nothing ran since).
  auto direct = HttpGet(metrics_address_, "/metrics");
  ASSERT_TRUE(direct.has_value());
  auto samples = Samples(direct->body);
  EXPECT_EQ(samples["walletd_transactions_begun_total"], *begun);
  EXPECT_EQ(samples[R"(walletd_transactions_finished_total{outcome="committed"})"], *committed);
}

TEST_F(MetricsTest, PromtoolAcceptsTheExposition) {
  OpenWallet(100);  // Some of every kind of series: counters, histograms, labels.
  auto scrape = HttpGet(metrics_address_, "/metrics");
  ASSERT_TRUE(scrape.has_value());
  ASSERT_EQ(scrape->status, 200);
  char path[] = "/tmp/walletd-metrics-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, scrape->body.data(), scrape->body.size()),
            static_cast<ssize_t>(scrape->body.size()));
  close(fd);
  // promtool lints too: names, units, _total on counters, HELP on every family.
  const std::string command = absl::StrCat(PROMTOOL_BINARY, " check metrics < ", path, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  unlink(path);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << scrape->body;
  EXPECT_NE(scrape->body.find("walletd_calls_total{"), std::string::npos) << scrape->body;
}

TEST_F(MetricsTest, MetricsAreOffUnlessAsked) {
  auto plain = StartWalletd({});
  ASSERT_FALSE(plain->address().empty());
  EXPECT_EQ(MetricsAddressOf(*plain), "");
  plain->Signal(SIGTERM);
  EXPECT_EQ(plain->Wait(absl::Seconds(20)), 0);
}

TEST_F(MetricsTest, AnUnusableMetricsAddressStopsWalletdWithAClearError) {
  auto malformed = StartWalletd({"--metrics_listen=localhost"});
  EXPECT_EQ(malformed->Wait(absl::Seconds(20)), 2);
  EXPECT_TRUE(malformed->WaitForLine("--metrics_listen must be", absl::Seconds(5)));

  auto taken = StartWalletd({"--metrics_listen=" + metrics_address_});
  EXPECT_EQ(taken->Wait(absl::Seconds(20)), 1);
  EXPECT_TRUE(taken->WaitForLine("cannot serve metrics", absl::Seconds(5)));
  EXPECT_TRUE(taken->address().empty()) << "it must not serve gRPC without its metrics";
}

}  // namespace
}  // namespace walletd::testing
