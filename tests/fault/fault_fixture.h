#pragma once
// The fault suite's harness (issue 16): walletd as a process on a PostgreSQL cluster of the test's
// own, a load of uniquely identified calls over several channels with every outcome recorded, the
// faults, and the invariants that must hold whatever the fault did.

#include <grpcpp/grpcpp.h>
#include <libpq-fe.h>
#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/walletd_process.h"
#include "wallet/v1/wallet.grpc.pb.h"

namespace walletd::testing::fault {

// A session of the test's own that never fails the test by itself: queries answer nullopt when the
// server is away, and the next query reconnects.
class Session {
 public:
  explicit Session(std::string dsn) : dsn_(std::move(dsn)) {}
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  using Rows = std::vector<std::vector<std::string>>;
  std::optional<Rows> Query(const std::string& sql);
  // The first column of the first row as a number.
  std::optional<int64_t> Int(const std::string& sql);

 private:
  std::string dsn_;
  PGconn* conn_ = nullptr;
};

// A throwaway PostgreSQL cluster (deploy/pg-throwaway --fast) in a fresh directory.
class Cluster {
 public:
  // Null, with a test failure, when it cannot start.
  static std::unique_ptr<Cluster> Start();
  ~Cluster();  // Destroys the cluster and its directory.

  const std::string& dsn() const { return dsn_; }
  const std::string& dir() const { return dir_; }
  // pg_ctl restart -m `mode`, returning once the server accepts connections again.
  bool Restart(const std::string& mode);
  pid_t Postmaster() const;
  // The postmaster's children: backends and auxiliary processes.
  std::vector<pid_t> Children(pid_t parent) const;

 private:
  std::string dir_, dsn_, bindir_;
};

enum class Kind { kTransfer, kDeposit, kWithdraw };

// One money movement the load asked for; request_id is never reused for another.
struct Op {
  Kind kind = Kind::kTransfer;
  std::string request_id;
  std::string from, to;  // from empty for a deposit, to empty for a withdrawal.
  int64_t amount = 0;
};

// One call of an Op and what it answered.
struct Attempt {
  std::string call_id;  // Sent as x-request-id: walletd's call log line names it.
  ::grpc::StatusCode code = ::grpc::StatusCode::UNKNOWN;
  std::string reason;   // The ErrorInfo reason, empty when there was none.
  std::string transfer_id;
  bool replayed = false;
  absl::Duration timeout;
  absl::Time sent, answered;
};

// What a client can conclude from an answer.
enum class Verdict { kOk, kRefused, kUnclear };
Verdict VerdictOf(::grpc::StatusCode code);
std::string CodeName(::grpc::StatusCode code);

struct Record {
  Op op;
  std::vector<Attempt> attempts;
  Verdict Final() const {
    for (auto it = attempts.rbegin(); it != attempts.rend(); ++it) {
      if (VerdictOf(it->code) != Verdict::kUnclear) return VerdictOf(it->code);
    }
    return Verdict::kUnclear;
  }
};

struct LoadOptions {
  std::string name;  // Request ids are <name>-<client>-<n>.
  int clients = 8;
  // The deadline each call carries; infinite sends none, so walletd's --default_deadline_ms
  // applies, counted from when walletd takes the call.
  absl::Duration timeout = absl::Seconds(5);
  int deposit_percent = 10;
  int withdraw_percent = 10;
  // A client told to back off (RESOURCE_EXHAUSTED, UNAVAILABLE) waits about this long.
  absl::Duration backoff = absl::Milliseconds(20);
};

class FaultTest;

// Clients calling in a loop, each sending its next call when the last one answered: `clients`
// calls in flight at all times. The calls are driven from completion queues, one thread per
// channel, as a thread per client would starve on two cores. Once stopped, calls still running
// after kStopGrace are cancelled.
class Load {
 public:
  Load(FaultTest& test, LoadOptions options);
  ~Load() { Stop(); }
  void Stop();
  const LoadOptions& options() const { return options_; }
  absl::Time started() const { return started_; }
  absl::Time stopped() const { return stopped_; }
  int64_t calls() const { return calls_.load(); }

 private:
  struct Slot;
  static constexpr absl::Duration kStopGrace = absl::Seconds(10);
  void Drive(size_t channel, std::vector<int> clients);
  void Send(Slot& slot, ::grpc::CompletionQueue& cq);

  FaultTest& test_;
  const LoadOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> calls_{0};
  absl::Time started_, stopped_ = absl::InfiniteFuture();
  std::vector<std::thread> threads_;
};

class FaultTest : public ::testing::Test {
 public:
  // One call of `op`, recorded in the book. `channel` picks one of the channels.
  Attempt Call(const Op& op, absl::Duration timeout, const std::string& call_id, size_t channel);
  // Fills in code and reason from `status`, and records the attempt in the book.
  void Note(const Op& op, const ::grpc::Status& status, Attempt* attempt);
  std::shared_ptr<wallet::v1::WalletService::Stub> Stub(size_t channel);
  Op RandomOp(absl::BitGen& bits, const std::string& request_id, const LoadOptions& options);
  // "OK 120, UNAVAILABLE/DATABASE_UNAVAILABLE 3, ..." over the first attempts of `records`.
  static std::string Outcomes(const std::vector<Record>& records);

 protected:
  friend class Load;
  static constexpr int kPoolMax = 8;   // walletd's --pool_max in these tests.
  static constexpr int kChannels = 4;  // Each its own TCP connection to walletd.
  // Serving again after a fault, on its own: health refreshes every second by default.
  static constexpr absl::Duration kRecoveryMax = absl::Seconds(5);

  void SetUp() override;
  void TearDown() override;

  // Starts walletd on the cluster (these flags after the defaults) and points the channels at it.
  void StartWalletd(const std::vector<std::string>& extra = {});
  // Lowers the priority of walletd (when it next starts) and of the server, so that the test's
  // clients are never starved of CPU, as if they ran on machines of their own.
  void YieldToClients();
  // Opens `count` wallets in EUR holding `balance` each.
  void OpenWallets(int count, int64_t balance);
  std::unique_ptr<Load> StartLoad(const LoadOptions& options) {
    return std::make_unique<Load>(*this, options);
  }

  // Retries every unclear outcome with its request id and payload until walletd answers something
  // definite, and replays a sample of the acknowledged ones; a test failure for any left unclear.
  void Settle(absl::Duration bound = absl::Seconds(90));
  // Every invariant of the issue, checked against the book, the ledger and the wire.
  void CheckInvariants();
  // From `since`, how long until health answers SERVING and a Balance succeeds (infinite when
  // that did not happen within `bound`).
  absl::Duration Recovery(absl::Time since, absl::Duration bound);
  ::grpc::health::v1::HealthCheckResponse::ServingStatus Health();

  // The records whose request id starts with `prefix`, copied.
  std::vector<Record> Records(const std::string& prefix = "");
  // A line for the report printed when the test ends.
  void Figure(const std::string& line) { figures_.push_back(line); }

  Session& admin() { return *admin_; }

  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<Session> admin_;
  std::unique_ptr<WalletdProcess> walletd_;
  std::vector<std::string> wallets_;
  std::map<std::string, int64_t> opening_balances_;

 private:
  absl::Time test_started_;
  bool niced_ = false;
  std::vector<std::string> figures_;
  std::mutex mu_;  // Guards the channels and the book.
  std::vector<std::shared_ptr<wallet::v1::WalletService::Stub>> stubs_;
  std::shared_ptr<::grpc::Channel> health_channel_;
  std::map<std::string, Record> book_;  // By request id: every call the test made.
};

}  // namespace walletd::testing::fault
