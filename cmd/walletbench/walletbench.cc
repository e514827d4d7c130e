// walletbench: a closed-loop load generator for walletd. It seeds its own wallets, keeps a fixed
// number of calls in flight from one thread on a gRPC completion queue (a new call starts when
// one finishes), reports throughput, latency and errors, and checks at the end that the transfers
// conserved money.
//
// Exit status: see kUsage below.

#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "wallet/v1/wallet.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "walletd's gRPC address (host:port)");
ABSL_FLAG(int, concurrency, 16, "calls in flight at all times");
ABSL_FLAG(double, duration_s, 10, "measured seconds after the warm-up (ignored when --calls > 0)");
ABSL_FLAG(int64_t, calls, 0, "measured calls after the warm-up (0: run for --duration_s)");
ABSL_FLAG(double, warmup_s, 2, "seconds of load before measuring starts");
ABSL_FLAG(int, wallets, 64, "wallets to create and move money between (at least 2)");
ABSL_FLAG(double, hot_share, 0,
          "fraction of transfers into wallet 0 (the hot wallet) from a random other wallet; "
          "the rest go between uniformly random distinct wallets");
ABSL_FLAG(double, balance_share, 0, "fraction of calls that are Balance instead of Transfer");
ABSL_FLAG(int, deadline_ms, 5000, "deadline of each call");
ABSL_FLAG(std::string, currency, "EUR", "currency of the wallets");
ABSL_FLAG(std::string, json_out, "", "also write the JSON report to this file");
ABSL_FLAG(std::string, histogram_out, "",
          "also write the measured transfers' latency histogram to this file, one line per "
          "non-empty bucket: its upper edge in microseconds and its count (runs can be merged)");
ABSL_FLAG(std::string, run_id, "", "prefix of every request id (default: random)");

namespace walletbench {
namespace {

namespace v1 = ::wallet::v1;

// Each wallet gets this much, so that no transfer ever fails for insufficient funds.
constexpr int64_t kSeedBalanceMinorUnits = 1'000'000'000'000;
constexpr int64_t kTransferAmountMinMinorUnits = 1;
constexpr int64_t kTransferAmountMaxMinorUnits = 100;
constexpr absl::Duration kConnectTimeout = absl::Seconds(10);
// Seeding and the final balance check are not measured: they must not fail for a --deadline_ms
// chosen to stress the load phase.
constexpr absl::Duration kSetupDeadline = absl::Seconds(30);
// Reading the balances back retries what walletd asks to be retried (RESOURCE_EXHAUSTED,
// UNAVAILABLE): calls of the load that gave up may still be queued there for a moment.
constexpr int kReadBackAttemptsMax = 8;
constexpr absl::Duration kReadBackBackoffMin = absl::Milliseconds(20);
constexpr absl::Duration kReadBackBackoffMax = absl::Seconds(1);
constexpr int kExitCallFailed = 1;
constexpr int kExitBadFlags = 2;
constexpr int kExitMoneyNotConserved = 3;
constexpr int kExitNotVerified = 4;
constexpr char kUsage[] =
    "closed-loop load generator for walletd: seeds its own wallets, keeps --concurrency calls in\n"
    "flight, reports throughput, latency and errors by code, and checks that money was conserved.\n"
    "  walletbench --target=127.0.0.1:50051 --concurrency=32 --duration_s=20 --hot_share=1\n"
    "Exit status (the report is printed first):\n"
    "  0  every call succeeded and the wallets hold what was deposited\n"
    "  1  a call failed (or walletd could not be reached, or seeding failed)\n"
    "  2  bad flags\n"
    "  3  money not conserved: the wallets' total differs from what was deposited\n"
    "  4  not verified: the balances could not be read back, so conservation is unknown";

// What the final check found.
enum class Conservation { kConserved, kNotConserved, kNotVerified };

const char* ConservationJson(Conservation c) {
  switch (c) {
    case Conservation::kConserved:
      return "true";
    case Conservation::kNotConserved:
      return "false";
    case Conservation::kNotVerified:
      return "null";
  }
  return "null";
}

// Latencies in microseconds in log-linear buckets: exact below 64 us, then 64 buckets per power
// of two (under 1.6% error), so memory stays fixed however long the run.
class Histogram {
 public:
  void Record(absl::Duration latency) {
    const uint64_t us = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Microseconds(latency)));
    ++counts_[std::min(IndexOf(us), kBucketsCount - 1)];
    ++count_;
    max_us_ = std::max(max_us_, us);
  }
  int64_t count() const { return count_; }
  double MaxMs() const { return static_cast<double>(max_us_) / 1000; }
  // The upper edge of the bucket holding the q-quantile, never above the maximum seen.
  double QuantileMs(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<int64_t>(q * static_cast<double>(count_ - 1)) + 1;
    int64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return static_cast<double>(std::min(UpperUs(i), max_us_)) / 1000;
    }
    return MaxMs();
  }
  // "upper_edge_us count" per non-empty bucket, the last edge clipped to the maximum seen.
  std::string Buckets() const {
    std::string out;
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] > 0) absl::StrAppend(&out, std::min(UpperUs(i), max_us_), " ", counts_[i], "\n");
    }
    return out;
  }

 private:
  static constexpr int kSubBits = 6;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr size_t kBucketsCount = kSub * 40;

  static size_t IndexOf(uint64_t us) {
    if (us < kSub) return us;
    const int shift = std::bit_width(us) - 1 - kSubBits;
    return static_cast<size_t>(kSub * static_cast<uint64_t>(shift + 1) + ((us >> shift) - kSub));
  }
  static uint64_t UpperUs(size_t index) {
    if (index < kSub) return index;
    const int shift = static_cast<int>(index / kSub) - 1;
    return ((kSub + index % kSub + 1) << shift) - 1;
  }

  std::vector<int64_t> counts_ = std::vector<int64_t>(kBucketsCount);
  int64_t count_ = 0;
  uint64_t max_us_ = 0;
};

struct Plan {
  int concurrency = 0;
  absl::Duration duration;
  int64_t calls = 0;  // > 0: stop after this many measured calls instead of after `duration`.
  absl::Duration warmup;
  double hot_share = 0;
  double balance_share = 0;
  absl::Duration deadline;
  std::string currency;
  std::string run_id;
};

struct Report {
  absl::Duration measured;  // The window the throughput is computed over.
  int64_t calls = 0;        // Measured calls, failed ones included.
  Histogram all;            // Latencies of the measured calls that succeeded.
  Histogram transfers;
  std::map<std::string, int64_t> errors;  // Over every call, warm-up included.
  int64_t failed = 0;
  int64_t transfers_total = 0;  // Successful transfers, warm-up included: for CPU per transfer.
};

const char* CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {
      "OK",           "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",     "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",          "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  const auto index = static_cast<size_t>(code);
  return index < std::size(kNames) ? kNames[index] : "CODE_UNKNOWN";
}

// "CODE/REASON" when walletd attached a google.rpc.ErrorInfo, else "CODE" (say, a deadline the
// client itself enforced).
std::string ErrorKey(const grpc::Status& status) {
  std::string key = CodeName(status.error_code());
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) return key;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info) && !info.reason().empty()) return absl::StrCat(key, "/", info.reason());
  }
  return key;
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(ErrorKey(status), ": ", status.error_message());
}

void SetDeadline(grpc::ClientContext& ctx, absl::Duration deadline) {
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  ctx.set_wait_for_ready(true);
}

// One call in flight: everything the completion queue needs until its tag comes back.
struct Call {
  grpc::ClientContext ctx;
  bool is_transfer = true;
  bool measured = false;
  absl::Time start;
  grpc::Status status;
  v1::TransferRequest transfer_request;
  v1::TransferResponse transfer_response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::TransferResponse>> transfer_reader;
  v1::BalanceRequest balance_request;
  v1::BalanceResponse balance_response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::BalanceResponse>> balance_reader;
};

// Keeps plan.concurrency calls in flight from one thread on one completion queue: each finished
// call starts the next. The client thus costs the machine as little as it can, and no thread
// hands a call to another (the gRPC callback client took 0.07 ms of CPU per transfer).
class LoadRunner {
 public:
  LoadRunner(v1::WalletService::Stub& stub, const Plan& plan, const std::vector<std::string>& wallets)
      : stub_(stub), plan_(plan), wallets_(wallets) {}

  Report Run() {
    measure_from_ = absl::Now() + plan_.warmup;
    int in_flight = 0;
    for (int i = 0; i < plan_.concurrency; ++i) {
      std::unique_ptr<Call> call = Next();
      if (call == nullptr) break;
      Launch(std::move(call));
      ++in_flight;
    }
    void* tag = nullptr;
    bool ok = false;
    while (in_flight > 0 && cq_.Next(&tag, &ok)) {
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      const absl::Time now = absl::Now();
      Record(call->status, call->measured, call->is_transfer, now - call->start, now);
      call.reset();
      if (std::unique_ptr<Call> next = Next()) {
        Launch(std::move(next));
      } else {
        --in_flight;
      }
    }
    cq_.Shutdown();
    while (cq_.Next(&tag, &ok)) {}
    // In a closed loop the calls started during the window stand for its throughput; with --calls
    // the window ends when the last of them finished.
    report_.measured = plan_.calls > 0
                           ? std::max(last_measured_done_ - measure_from_, absl::ZeroDuration())
                           : plan_.duration;
    return std::move(report_);
  }

 private:
  bool Stop(absl::Time now) const {
    if (plan_.calls > 0) return now >= measure_from_ && measured_started_ >= plan_.calls;
    return now >= measure_from_ + plan_.duration;
  }

  // The next call to make, or null when the run is over.
  std::unique_ptr<Call> Next() {
    const absl::Time now = absl::Now();
    if (Stop(now)) return nullptr;
    auto call = std::make_unique<Call>();
    call->start = now;
    call->measured = now >= measure_from_;
    if (call->measured) ++measured_started_;
    SetDeadline(call->ctx, plan_.deadline);
    const auto count = static_cast<int>(wallets_.size());
    call->is_transfer = !absl::Bernoulli(bits_, plan_.balance_share);
    if (!call->is_transfer) {
      call->balance_request.set_wallet_id(wallets_[absl::Uniform(bits_, 0, count)]);
      return call;
    }
    int from = 0;
    int to = 0;
    if (absl::Bernoulli(bits_, plan_.hot_share)) {
      from = absl::Uniform(bits_, 1, count);
    } else {
      from = absl::Uniform(bits_, 0, count);
      to = absl::Uniform(bits_, 0, count - 1);
      if (to >= from) ++to;  // Distinct from `from`, and still uniform.
    }
    v1::TransferRequest& request = call->transfer_request;
    request.set_request_id(absl::StrCat(plan_.run_id, "-t-", ++transfers_started_));
    request.set_from_wallet_id(wallets_[from]);
    request.set_to_wallet_id(wallets_[to]);
    request.mutable_amount()->set_minor_units(
        absl::Uniform(absl::IntervalClosed, bits_, kTransferAmountMinMinorUnits,
                      kTransferAmountMaxMinorUnits));
    request.mutable_amount()->set_currency(plan_.currency);
    return call;
  }

  void Launch(std::unique_ptr<Call> owned) {
    Call* call = owned.release();  // The completion queue hands it back as the tag.
    if (call->is_transfer) {
      call->transfer_reader = stub_.AsyncTransfer(&call->ctx, call->transfer_request, &cq_);
      call->transfer_reader->Finish(&call->transfer_response, &call->status, call);
    } else {
      call->balance_reader = stub_.AsyncBalance(&call->ctx, call->balance_request, &cq_);
      call->balance_reader->Finish(&call->balance_response, &call->status, call);
    }
  }

  void Record(const grpc::Status& status, bool measured, bool is_transfer, absl::Duration latency,
              absl::Time now) {
    if (!status.ok()) {
      ++report_.failed;
      ++report_.errors[ErrorKey(status)];
    } else if (is_transfer) {
      ++report_.transfers_total;
    }
    if (!measured) return;
    ++report_.calls;
    last_measured_done_ = std::max(last_measured_done_, now);
    if (!status.ok()) return;
    report_.all.Record(latency);
    if (is_transfer) report_.transfers.Record(latency);
  }

  v1::WalletService::Stub& stub_;
  const Plan& plan_;
  const std::vector<std::string>& wallets_;
  grpc::CompletionQueue cq_;
  absl::Time measure_from_;
  absl::BitGen bits_;
  int64_t measured_started_ = 0;
  int64_t transfers_started_ = 0;
  absl::Time last_measured_done_ = absl::InfinitePast();
  Report report_;
};

// Creates the wallets and deposits kSeedBalanceMinorUnits into each; false after printing why.
bool Seed(v1::WalletService::Stub& stub, const Plan& plan, int count, std::vector<std::string>* ids) {
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext create_ctx;
    SetDeadline(create_ctx, kSetupDeadline);
    v1::CreateWalletRequest create;
    create.set_request_id(absl::StrCat(plan.run_id, "-w-", i));
    create.set_currency(plan.currency);
    v1::CreateWalletResponse created;
    grpc::Status status = stub.CreateWallet(&create_ctx, create, &created);
    if (!status.ok()) {
      std::cerr << "walletbench: CreateWallet failed: " << Describe(status) << "\n";
      return false;
    }
    grpc::ClientContext deposit_ctx;
    SetDeadline(deposit_ctx, kSetupDeadline);
    v1::DepositRequest deposit;
    deposit.set_request_id(absl::StrCat(plan.run_id, "-d-", i));
    deposit.set_wallet_id(created.wallet().id());
    deposit.mutable_amount()->set_minor_units(kSeedBalanceMinorUnits);
    deposit.mutable_amount()->set_currency(plan.currency);
    v1::DepositResponse deposited;
    status = stub.Deposit(&deposit_ctx, deposit, &deposited);
    if (!status.ok()) {
      std::cerr << "walletbench: Deposit failed: " << Describe(status) << "\n";
      return false;
    }
    ids->push_back(created.wallet().id());
  }
  return true;
}

bool Retryable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         status.error_code() == grpc::StatusCode::UNAVAILABLE;
}

// One wallet's balance, retried with backoff while walletd asks for that; false after printing why.
bool ReadBalance(v1::WalletService::Stub& stub, const std::string& id, int64_t* balance) {
  absl::Duration backoff = kReadBackBackoffMin;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, kSetupDeadline);
    v1::BalanceRequest request;
    request.set_wallet_id(id);
    v1::BalanceResponse response;
    const grpc::Status status = stub.Balance(&ctx, request, &response);
    if (status.ok()) {
      *balance = response.wallet().balance().minor_units();
      return true;
    }
    if (!Retryable(status) || attempt == kReadBackAttemptsMax) {
      std::cerr << "walletbench: Balance of " << id << " failed (attempt " << attempt
                << "): " << Describe(status) << "\n";
      return false;
    }
    absl::SleepFor(backoff);
    backoff = std::min(2 * backoff, kReadBackBackoffMax);
  }
}

// The wallets' total balance, read back one wallet at a time once the load has stopped; false
// when a balance could not be read.
bool SumBalances(v1::WalletService::Stub& stub, const std::vector<std::string>& wallets,
                 int64_t* sum) {
  *sum = 0;
  for (const std::string& id : wallets) {
    int64_t balance = 0;
    if (!ReadBalance(stub, id, &balance)) return false;
    *sum += balance;
  }
  return true;
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", static_cast<int>(c)));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

double PerSecond(int64_t count, absl::Duration window) {
  const double seconds = absl::ToDoubleSeconds(window);
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

std::string LatencyJson(const std::string& prefix, const Histogram& h) {
  return absl::StrFormat(
      "\"%sp50_ms\":%.3f,\"%sp90_ms\":%.3f,\"%sp99_ms\":%.3f,\"%sp999_ms\":%.3f,\"%smax_ms\":%.3f",
      prefix, h.QuantileMs(0.5), prefix, h.QuantileMs(0.9), prefix, h.QuantileMs(0.99), prefix,
      h.QuantileMs(0.999), prefix, h.MaxMs());
}

// This process's CPU time so far: the client's share of the machine, for the benchmark's account.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string ToJson(const Plan& plan, const Report& r, Conservation conserved) {
  std::string errors;
  for (const auto& [key, count] : r.errors) {
    absl::StrAppend(&errors, errors.empty() ? "" : ",", JsonString(key), ":", count);
  }
  return absl::StrFormat(
      "{\"run_id\":%s,\"concurrency\":%d,\"hot_share\":%.3f,\"balance_share\":%.3f,"
      "\"seconds\":%.3f,\"calls\":%d,\"transfers\":%d,\"transfers_total\":%d,\"failed\":%d,"
      "\"calls_per_s\":%.1f,\"transfers_per_s\":%.1f,%s,%s,\"errors\":{%s},"
      "\"money_conserved\":%s,\"client_cpu_s\":%.3f}",
      JsonString(plan.run_id), plan.concurrency, plan.hot_share, plan.balance_share,
      absl::ToDoubleSeconds(r.measured), r.calls, r.transfers.count(), r.transfers_total, r.failed,
      PerSecond(r.all.count(), r.measured), PerSecond(r.transfers.count(), r.measured),
      LatencyJson("", r.all), LatencyJson("transfer_", r.transfers), errors,
      ConservationJson(conserved), CpuSeconds());
}

void PrintTable(const Plan& plan, const Report& r, Conservation conserved) {
  std::cout << absl::StrFormat(
      "walletbench %s: %.1f s measured, concurrency %d, hot_share %.2f, balance_share %.2f\n",
      plan.run_id, absl::ToDoubleSeconds(r.measured), plan.concurrency, plan.hot_share,
      plan.balance_share);
  std::cout << absl::StrFormat("%-10s %10s %10s %9s %9s %9s %9s %9s\n", "ok calls", "count",
                               "per s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
  auto row = [&r](const char* name, const Histogram& h) {
    std::cout << absl::StrFormat("%-10s %10d %10.1f %9.2f %9.2f %9.2f %9.2f %9.2f\n", name,
                                 h.count(), PerSecond(h.count(), r.measured), h.QuantileMs(0.5),
                                 h.QuantileMs(0.9), h.QuantileMs(0.99), h.QuantileMs(0.999),
                                 h.MaxMs());
  };
  row("all", r.all);
  row("transfers", r.transfers);
  std::cout << "failed calls (warm-up included): " << r.failed << "\n";
  for (const auto& [key, count] : r.errors) std::cout << "  " << key << ": " << count << "\n";
  static constexpr const char* kVerdicts[] = {"yes", "NO", "not verified (balances unreadable)"};
  std::cout << "money conserved: " << kVerdicts[static_cast<int>(conserved)] << "\n";
}

bool InUnitRange(double share) { return share >= 0 && share <= 1; }

// The plan from the flags; false after printing what is wrong.
bool PlanFromFlags(Plan* plan) {
  plan->concurrency = absl::GetFlag(FLAGS_concurrency);
  plan->duration = absl::Seconds(absl::GetFlag(FLAGS_duration_s));
  plan->calls = absl::GetFlag(FLAGS_calls);
  plan->warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_s));
  plan->hot_share = absl::GetFlag(FLAGS_hot_share);
  plan->balance_share = absl::GetFlag(FLAGS_balance_share);
  plan->deadline = absl::Milliseconds(absl::GetFlag(FLAGS_deadline_ms));
  plan->currency = absl::GetFlag(FLAGS_currency);
  plan->run_id = absl::GetFlag(FLAGS_run_id);
  if (plan->run_id.empty()) {
    absl::BitGen bits;
    plan->run_id = absl::StrFormat("wb-%016x", absl::Uniform<uint64_t>(bits));
  }
  const bool stops = plan->calls > 0 || plan->duration > absl::ZeroDuration();
  if (plan->concurrency < 1 || absl::GetFlag(FLAGS_wallets) < 2 || !stops || plan->calls < 0 ||
      plan->warmup < absl::ZeroDuration() || !InUnitRange(plan->hot_share) ||
      !InUnitRange(plan->balance_share) || plan->deadline <= absl::ZeroDuration()) {
    std::cerr << "walletbench: need concurrency >= 1, wallets >= 2, duration_s > 0 or calls > 0, "
                 "warmup_s >= 0, hot_share and balance_share in [0, 1], deadline_ms > 0\n";
    return false;
  }
  return true;
}

int Run() {
  Plan plan;
  if (!PlanFromFlags(&plan)) return kExitBadFlags;
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + kConnectTimeout))) {
    std::cerr << "walletbench: cannot connect to " << absl::GetFlag(FLAGS_target) << "\n";
    return kExitCallFailed;
  }
  std::unique_ptr<v1::WalletService::Stub> stub = v1::WalletService::NewStub(channel);
  std::vector<std::string> wallets;
  if (!Seed(*stub, plan, absl::GetFlag(FLAGS_wallets), &wallets)) return kExitCallFailed;

  LoadRunner runner(*stub, plan, wallets);
  const Report report = runner.Run();

  int64_t sum = 0;
  const bool summed = SumBalances(*stub, wallets, &sum);
  const int64_t deposited = kSeedBalanceMinorUnits * static_cast<int64_t>(wallets.size());
  const Conservation conserved = !summed             ? Conservation::kNotVerified
                                 : sum == deposited ? Conservation::kConserved
                                                    : Conservation::kNotConserved;
  PrintTable(plan, report, conserved);
  const std::string json = ToJson(plan, report, conserved);
  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    std::ofstream(path) << json << "\n";
  }
  if (const std::string path = absl::GetFlag(FLAGS_histogram_out); !path.empty()) {
    std::ofstream(path) << report.transfers.Buckets();
  }
  std::cout << json << std::endl;
  if (conserved == Conservation::kNotConserved) {
    std::cerr << "walletbench: ERROR: MONEY NOT CONSERVED: deposited " << deposited
              << " minor units, the wallets hold " << sum << "\n";
    return kExitMoneyNotConserved;
  }
  if (conserved == Conservation::kNotVerified) {
    std::cerr << "walletbench: could not verify that money was conserved: the balances could not "
                 "be read back\n";
    return kExitNotVerified;
  }
  return report.failed > 0 ? kExitCallFailed : 0;
}

}  // namespace
}  // namespace walletbench

int main(int argc, char** argv) {
  // Debian's Abseil checks every absl::Mutex (gRPC's included) for lock-order cycles: a debugging
  // aid the client should not pay for while it measures.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(walletbench::kUsage);
  absl::ParseCommandLine(argc, argv);
  return walletbench::Run();
}
