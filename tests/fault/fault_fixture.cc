#include "tests/fault/fault_fixture.h"

#include <dirent.h>
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <grpcpp/alarm.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/e2e/e2e_fixture.h"

namespace walletd::testing::fault {
namespace {

using ::grpc::StatusCode;
using HealthStatus = ::grpc::health::v1::HealthCheckResponse;

// Runs `command` with the shell; its standard output without the trailing newline, and whether it
// exited 0.
std::string Output(const std::string& command, bool* ok = nullptr) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    if (ok != nullptr) *ok = false;
    return out;
  }
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int status = pclose(pipe);
  if (ok != nullptr) *ok = status == 0;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Server binaries run as the cluster's owner: `postgres` when the tests run as root.
std::string AsOwner() { return getuid() == 0 ? "runuser -u postgres -- " : ""; }

std::string PgThrowaway() { return std::string(WALLETD_SOURCE_DIR) + "/deploy/pg-throwaway"; }

std::shared_ptr<::grpc::Channel> ChannelTo(const std::string& address) {
  ::grpc::ChannelArguments args;
  // A connection of its own per channel: the channels are separate clients.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Reconnect quickly once walletd is back, instead of gRPC's default backoff of up to 2 minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  return ::grpc::CreateCustomChannel(address, ::grpc::InsecureChannelCredentials(), args);
}

int64_t Effect(const Op& op, const std::string& wallet) {
  int64_t change = 0;
  if (op.from == wallet) change -= op.amount;
  if (op.to == wallet) change += op.amount;
  return change;
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kTransfer: return "transfer";
    case Kind::kDeposit: return "deposit";
    case Kind::kWithdraw: return "withdrawal";
  }
  return "?";
}

constexpr int kNiceness = 10;

// At most this many examples per failed check, so a broken run stays readable.
constexpr int kExamplesMax = 5;

}  // namespace

// ---- Session ----

Session::~Session() {
  if (conn_ != nullptr) PQfinish(conn_);
}

std::optional<Session::Rows> Session::Query(const std::string& sql) {
  // A second try on a new session when the first found this one broken (the server restarted).
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (conn_ != nullptr && PQstatus(conn_) != CONNECTION_OK) {
      PQfinish(conn_);
      conn_ = nullptr;
    }
    if (conn_ == nullptr) {
      conn_ = PQconnectdb((dsn_ + " application_name=fault-test connect_timeout=5").c_str());
      if (PQstatus(conn_) != CONNECTION_OK) {
        PQfinish(conn_);
        conn_ = nullptr;
        return std::nullopt;
      }
    }
    PGresult* result = PQexec(conn_, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      PQclear(result);
      if (PQstatus(conn_) != CONNECTION_OK) continue;
      return std::nullopt;
    }
    Rows rows(static_cast<size_t>(PQntuples(result)));
    for (int r = 0; r < PQntuples(result); ++r) {
      for (int c = 0; c < PQnfields(result); ++c) rows[r].emplace_back(PQgetvalue(result, r, c));
    }
    PQclear(result);
    return rows;
  }
  return std::nullopt;
}

std::optional<int64_t> Session::Int(const std::string& sql) {
  auto rows = Query(sql);
  if (!rows || rows->empty() || rows->front().empty() || rows->front().front().empty()) {
    return std::nullopt;
  }
  return std::stoll(rows->front().front());
}

// ---- Cluster ----

std::unique_ptr<Cluster> Cluster::Start() {
  std::unique_ptr<Cluster> cluster(new Cluster());
  char dir[] = "/tmp/walletd-fault-pg.XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << strerror(errno);
    return nullptr;
  }
  cluster->dir_ = dir;
  cluster->bindir_ = Output("ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1");
  bool ok = false;
  cluster->dsn_ = Output(PgThrowaway() + " start " + cluster->dir_ + " --fast", &ok);
  if (!ok || cluster->dsn_.empty() || cluster->bindir_.empty()) {
    ADD_FAILURE() << "pg-throwaway could not start a cluster in " << cluster->dir_;
    return nullptr;
  }
  // --fast turns synchronous_commit off: a crash (pg_ctl restart -m immediate) then loses commits
  // already acknowledged. fsync may stay off, the machine does not crash; acknowledged must mean
  // durable.
  Session admin(cluster->dsn_);
  if (!admin.Query("ALTER SYSTEM SET synchronous_commit = on") ||
      !admin.Query("SELECT pg_reload_conf()")) {
    ADD_FAILURE() << "cannot turn synchronous_commit on";
    return nullptr;
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (Session(cluster->dsn_).Query("SHOW synchronous_commit") != Session::Rows{{"on"}}) {
    if (absl::Now() > give_up) {
      ADD_FAILURE() << "synchronous_commit is still off";
      return nullptr;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return cluster;
}

Cluster::~Cluster() {
  if (dir_.empty()) return;
  // A server left frozen by a failed test would never stop.
  if (const pid_t postmaster = Postmaster(); postmaster > 0) {
    for (pid_t child : Children(postmaster)) kill(child, SIGCONT);
    kill(postmaster, SIGCONT);
  }
  Output(PgThrowaway() + " destroy " + dir_ + " >/dev/null 2>&1");
}

bool Cluster::Restart(const std::string& mode) {
  // -l keeps the server's output in its log, away from this process's pipes.
  bool ok = false;
  Output(absl::StrCat(AsOwner(), bindir_, "/pg_ctl -D ", dir_, "/data -l ", dir_,
                      "/server.log -m ", mode, " -w -t 60 restart >>", dir_,
                      "/pg_ctl.log 2>&1"),
         &ok);
  return ok;
}

pid_t Cluster::Postmaster() const {
  std::ifstream file(dir_ + "/data/postmaster.pid");
  pid_t pid = -1;
  if (!(file >> pid)) return -1;
  return pid;
}

std::vector<pid_t> Cluster::Children(pid_t parent) const {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(atoi(entry->d_name));
    if (pid <= 0) continue;
    std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
    std::string stat;
    std::getline(file, stat);
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so parse after the last ')'.
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 1));
    std::string state;
    pid_t ppid = -1;
    if (rest >> state >> ppid && ppid == parent) children.push_back(pid);
  }
  closedir(proc);
  return children;
}

// ---- Outcomes ----

Verdict VerdictOf(StatusCode code) {
  switch (code) {
    case StatusCode::OK:
      return Verdict::kOk;
    case StatusCode::INVALID_ARGUMENT:
    case StatusCode::NOT_FOUND:
    case StatusCode::FAILED_PRECONDITION:
    case StatusCode::ALREADY_EXISTS:
    case StatusCode::OUT_OF_RANGE:
      return Verdict::kRefused;
    default:
      // UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED, CANCELLED, and the codes
      // that should never come (INTERNAL, UNKNOWN): only a retry can tell.
      return Verdict::kUnclear;
  }
}

std::string CodeName(StatusCode code) {
  switch (code) {
    case StatusCode::OK: return "OK";
    case StatusCode::CANCELLED: return "CANCELLED";
    case StatusCode::UNKNOWN: return "UNKNOWN";
    case StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case StatusCode::NOT_FOUND: return "NOT_FOUND";
    case StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case StatusCode::ABORTED: return "ABORTED";
    case StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case StatusCode::INTERNAL: return "INTERNAL";
    case StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case StatusCode::DATA_LOSS: return "DATA_LOSS";
    case StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

// ---- Load ----

// One client: its current call, or the pause before its next one.
struct Load::Slot {
  int client = 0;
  int64_t n = 0;
  Op op;
  Attempt attempt;
  std::shared_ptr<wallet::v1::WalletService::Stub> stub;  // Kept while its call runs.
  std::unique_ptr<::grpc::ClientContext> ctx;
  ::grpc::Status status;
  wallet::v1::TransferResponse transfer;
  wallet::v1::DepositResponse deposit;
  wallet::v1::WithdrawResponse withdraw;
  std::unique_ptr<::grpc::ClientAsyncResponseReader<wallet::v1::TransferResponse>> transfer_call;
  std::unique_ptr<::grpc::ClientAsyncResponseReader<wallet::v1::DepositResponse>> deposit_call;
  std::unique_ptr<::grpc::ClientAsyncResponseReader<wallet::v1::WithdrawResponse>> withdraw_call;
  ::grpc::Alarm pause;
  bool pausing = false;
  bool cancelled = false;
  absl::BitGen bits;
};

Load::Load(FaultTest& test, LoadOptions options) : test_(test), options_(std::move(options)) {
  started_ = absl::Now();
  const size_t threads = std::min<size_t>(FaultTest::kChannels, options_.clients);
  std::vector<std::vector<int>> clients(threads);
  for (int i = 0; i < options_.clients; ++i) clients[i % threads].push_back(i);
  for (size_t t = 0; t < threads; ++t) {
    threads_.emplace_back([this, t, mine = clients[t]] { Drive(t, mine); });
  }
}

void Load::Stop() {
  if (threads_.empty()) return;
  stopped_ = absl::Now();
  stop_.store(true);
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

void Load::Send(Slot& slot, ::grpc::CompletionQueue& cq) {
  slot.op = test_.RandomOp(slot.bits, absl::StrCat(options_.name, "-", slot.client, "-", slot.n++),
                           options_);
  slot.attempt = Attempt();
  slot.attempt.call_id = slot.op.request_id;
  slot.attempt.timeout = options_.timeout;
  slot.ctx = std::make_unique<::grpc::ClientContext>();
  slot.cancelled = false;
  slot.transfer.Clear();
  slot.deposit.Clear();
  slot.withdraw.Clear();
  slot.attempt.sent = absl::Now();
  if (options_.timeout != absl::InfiniteDuration()) {
    slot.ctx->set_deadline(absl::ToChronoTime(slot.attempt.sent + options_.timeout));
  }
  slot.ctx->AddMetadata("x-request-id", slot.op.request_id);
  wallet::v1::Money amount;
  amount.set_minor_units(slot.op.amount);
  amount.set_currency("EUR");
  switch (slot.op.kind) {
    case Kind::kTransfer: {
      wallet::v1::TransferRequest request;
      request.set_request_id(slot.op.request_id);
      request.set_from_wallet_id(slot.op.from);
      request.set_to_wallet_id(slot.op.to);
      *request.mutable_amount() = amount;
      slot.transfer_call = slot.stub->AsyncTransfer(slot.ctx.get(), request, &cq);
      slot.transfer_call->Finish(&slot.transfer, &slot.status, &slot);
      break;
    }
    case Kind::kDeposit: {
      wallet::v1::DepositRequest request;
      request.set_request_id(slot.op.request_id);
      request.set_wallet_id(slot.op.to);
      *request.mutable_amount() = amount;
      slot.deposit_call = slot.stub->AsyncDeposit(slot.ctx.get(), request, &cq);
      slot.deposit_call->Finish(&slot.deposit, &slot.status, &slot);
      break;
    }
    case Kind::kWithdraw: {
      wallet::v1::WithdrawRequest request;
      request.set_request_id(slot.op.request_id);
      request.set_wallet_id(slot.op.from);
      *request.mutable_amount() = amount;
      slot.withdraw_call = slot.stub->AsyncWithdraw(slot.ctx.get(), request, &cq);
      slot.withdraw_call->Finish(&slot.withdraw, &slot.status, &slot);
      break;
    }
  }
}

void Load::Drive(size_t channel, std::vector<int> clients) {
  ::grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Slot>> slots;
  for (int client : clients) {
    slots.push_back(std::make_unique<Slot>());
    slots.back()->client = client;
    slots.back()->stub = test_.Stub(channel);
    Send(*slots.back(), cq);
  }
  size_t busy = slots.size();  // Calls and pauses pending on the queue.
  void* tag = nullptr;
  bool ok = false;
  while (busy > 0) {
    const auto status =
        cq.AsyncNext(&tag, &ok, absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
    if (status == ::grpc::CompletionQueue::SHUTDOWN) break;
    if (status == ::grpc::CompletionQueue::TIMEOUT) {
      if (stop_.load() && absl::Now() > stopped_ + kStopGrace) {
        for (auto& waiting : slots) {
          if (!waiting->pausing && !waiting->cancelled) {
            waiting->cancelled = true;
            waiting->ctx->TryCancel();
          }
        }
      }
      continue;
    }
    Slot& slot = *static_cast<Slot*>(tag);
    if (slot.pausing) {
      slot.pausing = false;
    } else {
      switch (slot.op.kind) {
        case Kind::kTransfer:
          slot.attempt.transfer_id = slot.transfer.transfer().id();
          slot.attempt.replayed = slot.transfer.replayed();
          break;
        case Kind::kDeposit:
          slot.attempt.transfer_id = slot.deposit.transfer().id();
          slot.attempt.replayed = slot.deposit.replayed();
          break;
        case Kind::kWithdraw:
          slot.attempt.transfer_id = slot.withdraw.transfer().id();
          slot.attempt.replayed = slot.withdraw.replayed();
          break;
      }
      test_.Note(slot.op, slot.status, &slot.attempt);
      calls_.fetch_add(1);
      // Told to back off: this client pauses without holding up the others on its queue.
      const StatusCode code = slot.attempt.code;
      if (!stop_.load() &&
          (code == StatusCode::RESOURCE_EXHAUSTED || code == StatusCode::UNAVAILABLE)) {
        slot.pausing = true;
        const absl::Duration pause = options_.backoff * absl::Uniform(slot.bits, 0.5, 1.5);
        slot.pause.Set(&cq, absl::ToChronoTime(absl::Now() + pause), &slot);
        continue;
      }
    }
    if (stop_.load()) {
      --busy;
      continue;
    }
    slot.stub = test_.Stub(channel);  // walletd may have been restarted elsewhere.
    Send(slot, cq);
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

// ---- FaultTest ----

void FaultTest::SetUp() {
  test_started_ = absl::Now();
  cluster_ = Cluster::Start();
  ASSERT_NE(cluster_, nullptr);
  admin_ = std::make_unique<Session>(cluster_->dsn());
}

void FaultTest::TearDown() {
  if (walletd_ != nullptr) {
    walletd_->Signal(SIGTERM);
    const int status = walletd_->Wait(absl::Seconds(20));
    if (status != 0) Figure(absl::StrCat("walletd's exit status after SIGTERM: ", status));
  }
  {
    std::lock_guard lock(mu_);
    stubs_.clear();
    health_channel_.reset();
  }
  walletd_.reset();
  admin_.reset();
  cluster_.reset();
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::cout << "[fault] " << info->test_suite_name() << "." << info->name() << "\n";
  for (const std::string& line : figures_) std::cout << "[fault]   " << line << "\n";
  std::cout << absl::StrFormat("[fault]   test took %.1f s\n",
                               absl::ToDoubleSeconds(absl::Now() - test_started_))
            << std::flush;
}

void FaultTest::StartWalletd(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--insecure", "--dsn=" + cluster_->dsn(), "--listen=127.0.0.1:0",
                                   absl::StrCat("--pool_max=", kPoolMax),
                                   "--shutdown_grace_ms=2000"};
  args.insert(args.end(), extra.begin(), extra.end());
  if (niced_) {
    args.insert(args.begin(), {"-n", std::to_string(kNiceness), WALLETD_BINARY});
    walletd_ = WalletdProcess::Start("/usr/bin/nice", args);
  } else {
    walletd_ = WalletdProcess::Start(WALLETD_BINARY, args);
  }
  ASSERT_FALSE(walletd_->address().empty()) << "walletd did not start";
  std::lock_guard lock(mu_);
  stubs_.clear();
  for (int i = 0; i < kChannels; ++i) {
    stubs_.push_back(wallet::v1::WalletService::NewStub(ChannelTo(walletd_->address())));
  }
  health_channel_ = ChannelTo(walletd_->address());
}

void FaultTest::YieldToClients() {
  niced_ = true;
  // New backends inherit the postmaster's niceness.
  const pid_t postmaster = cluster_->Postmaster();
  ASSERT_GT(postmaster, 0);
  ASSERT_EQ(setpriority(PRIO_PROCESS, static_cast<id_t>(postmaster), kNiceness), 0)
      << strerror(errno);
  for (pid_t child : cluster_->Children(postmaster)) {
    setpriority(PRIO_PROCESS, static_cast<id_t>(child), kNiceness);
  }
}

std::shared_ptr<wallet::v1::WalletService::Stub> FaultTest::Stub(size_t channel) {
  std::lock_guard lock(mu_);
  return stubs_.at(channel % stubs_.size());
}

void FaultTest::OpenWallets(int count, int64_t balance) {
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(wallets_.size());
    wallet::v1::CreateWalletRequest create;
    create.set_request_id("open-" + n);
    create.set_currency("EUR");
    wallet::v1::CreateWalletResponse created;
    ::grpc::ClientContext create_ctx;
    create_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    const ::grpc::Status status = Stub(0)->CreateWallet(&create_ctx, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
    wallet::v1::DepositRequest deposit;
    deposit.set_request_id("seed-" + n);
    deposit.set_wallet_id(created.wallet().id());
    deposit.mutable_amount()->set_minor_units(balance);
    deposit.mutable_amount()->set_currency("EUR");
    wallet::v1::DepositResponse deposited;
    ::grpc::ClientContext deposit_ctx;
    deposit_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    const ::grpc::Status seeded = Stub(0)->Deposit(&deposit_ctx, deposit, &deposited);
    ASSERT_TRUE(seeded.ok()) << seeded.error_message();
    wallets_.push_back(created.wallet().id());
    opening_balances_[created.wallet().id()] = balance;
  }
}

Op FaultTest::RandomOp(absl::BitGen& bits, const std::string& request_id,
                       const LoadOptions& options) {
  Op op;
  op.request_id = request_id;
  op.amount = absl::Uniform<int64_t>(bits, 1, 101);
  const int roll = absl::Uniform(bits, 0, 100);
  const size_t a = absl::Uniform<size_t>(bits, 0, wallets_.size());
  if (roll < options.deposit_percent) {
    op.kind = Kind::kDeposit;
    op.to = wallets_[a];
  } else if (roll < options.deposit_percent + options.withdraw_percent) {
    op.kind = Kind::kWithdraw;
    op.from = wallets_[a];
  } else {
    size_t b = absl::Uniform<size_t>(bits, 0, wallets_.size() - 1);
    if (b >= a) ++b;
    op.kind = Kind::kTransfer;
    op.from = wallets_[a];
    op.to = wallets_[b];
  }
  return op;
}

Attempt FaultTest::Call(const Op& op, absl::Duration timeout, const std::string& call_id,
                        size_t channel) {
  const auto stub = Stub(channel);
  Attempt attempt;
  attempt.call_id = call_id;
  attempt.timeout = timeout;
  ::grpc::ClientContext ctx;
  attempt.sent = absl::Now();
  ctx.set_deadline(absl::ToChronoTime(attempt.sent + timeout));
  ctx.AddMetadata("x-request-id", call_id);
  wallet::v1::Money amount;
  amount.set_minor_units(op.amount);
  amount.set_currency("EUR");
  ::grpc::Status status;
  switch (op.kind) {
    case Kind::kTransfer: {
      wallet::v1::TransferRequest request;
      request.set_request_id(op.request_id);
      request.set_from_wallet_id(op.from);
      request.set_to_wallet_id(op.to);
      *request.mutable_amount() = amount;
      wallet::v1::TransferResponse response;
      status = stub->Transfer(&ctx, request, &response);
      attempt.transfer_id = response.transfer().id();
      attempt.replayed = response.replayed();
      break;
    }
    case Kind::kDeposit: {
      wallet::v1::DepositRequest request;
      request.set_request_id(op.request_id);
      request.set_wallet_id(op.to);
      *request.mutable_amount() = amount;
      wallet::v1::DepositResponse response;
      status = stub->Deposit(&ctx, request, &response);
      attempt.transfer_id = response.transfer().id();
      attempt.replayed = response.replayed();
      break;
    }
    case Kind::kWithdraw: {
      wallet::v1::WithdrawRequest request;
      request.set_request_id(op.request_id);
      request.set_wallet_id(op.from);
      *request.mutable_amount() = amount;
      wallet::v1::WithdrawResponse response;
      status = stub->Withdraw(&ctx, request, &response);
      attempt.transfer_id = response.transfer().id();
      attempt.replayed = response.replayed();
      break;
    }
  }
  Note(op, status, &attempt);
  return attempt;
}

void FaultTest::Note(const Op& op, const ::grpc::Status& status, Attempt* attempt) {
  attempt->answered = absl::Now();
  attempt->code = status.error_code();
  if (auto info = ErrorInfoOf(status)) attempt->reason = info->reason();
  if (!status.ok()) {
    attempt->transfer_id.clear();
    attempt->replayed = false;
  }
  std::lock_guard lock(mu_);
  Record& record = book_[op.request_id];
  if (record.attempts.empty()) record.op = op;
  record.attempts.push_back(*attempt);
}

std::vector<Record> FaultTest::Records(const std::string& prefix) {
  std::lock_guard lock(mu_);
  std::vector<Record> out;
  for (const auto& [rid, record] : book_) {
    if (absl::StartsWith(rid, prefix)) out.push_back(record);
  }
  return out;
}

std::string FaultTest::Outcomes(const std::vector<Record>& records) {
  std::map<std::string, int64_t> counts;
  for (const Record& record : records) {
    const Attempt& first = record.attempts.front();
    std::string key = CodeName(first.code);
    if (!first.reason.empty()) absl::StrAppend(&key, "/", first.reason);
    ++counts[key];
  }
  std::vector<std::string> parts;
  for (const auto& [key, n] : counts) parts.push_back(absl::StrCat(key, " ", n));
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

void FaultTest::Settle(absl::Duration bound) {
  std::vector<Op> ops;  // The unclear ones first, then a sample of acknowledged ones to replay.
  size_t unclear = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& [rid, record] : book_) {
      if (record.Final() == Verdict::kUnclear) ops.push_back(record.op);
    }
    unclear = ops.size();
    size_t sampled = 0;
    for (const auto& [rid, record] : book_) {
      if (sampled == 20) break;
      if (record.Final() == Verdict::kOk && record.attempts.size() == 1) {
        ops.push_back(record.op);
        ++sampled;
      }
    }
  }
  const absl::Time give_up = absl::Now() + bound;
  std::atomic<size_t> next{0};
  std::atomic<int64_t> retries{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&, w] {
      for (size_t i = next.fetch_add(1); i < ops.size(); i = next.fetch_add(1)) {
        for (int n = 1; absl::Now() < give_up; ++n) {
          const absl::Duration left = give_up - absl::Now();
          const Attempt attempt = Call(ops[i], std::min(absl::Seconds(5), left),
                                       absl::StrCat(ops[i].request_id, "~", n),
                                       static_cast<size_t>(w));
          retries.fetch_add(1);
          if (VerdictOf(attempt.code) != Verdict::kUnclear) break;
          absl::SleepFor(absl::Milliseconds(50));
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();

  // How the unclear outcomes turned out.
  int64_t committed = 0, redone = 0, refused = 0, still = 0;
  for (const Record& record : Records()) {
    if (VerdictOf(record.attempts.front().code) != Verdict::kUnclear) continue;
    const Attempt& last = record.attempts.back();
    switch (record.Final()) {
      case Verdict::kOk: ++(last.replayed ? committed : redone); break;
      case Verdict::kRefused: ++refused; break;
      case Verdict::kUnclear: ++still; break;
    }
  }
  Figure(absl::StrFormat(
      "settled: %d unclear outcomes retried with their request id (%d retries): %d had "
      "committed (replayed), %d had not (done now), %d refused, %d still unclear; %d "
      "acknowledged ones replayed",
      unclear, retries.load(), committed, redone, refused, still, ops.size() - unclear));
  EXPECT_EQ(still, 0) << "unclear outcomes that no retry settled within " << bound;
}

void FaultTest::CheckInvariants() {
  const std::vector<Record> records = Records();

  // The contract: no defect code, no request id refused as reused (each is sent with one payload
  // only), every unclear outcome settled, and every OK of one request names the same transfer.
  int64_t defects = 0, reused = 0, unsettled = 0, disagreeing = 0;
  std::map<std::string, std::string> acknowledged;  // request id -> transfer id
  for (const Record& record : records) {
    for (const Attempt& attempt : record.attempts) {
      if (attempt.code == StatusCode::INTERNAL || attempt.code == StatusCode::UNKNOWN ||
          attempt.code == StatusCode::DATA_LOSS || attempt.code == StatusCode::UNIMPLEMENTED) {
        if (++defects <= kExamplesMax) {
          ADD_FAILURE() << attempt.call_id << " answered " << CodeName(attempt.code) << "/"
                        << attempt.reason;
        }
      }
      if (attempt.reason == "IDEMPOTENCY_KEY_REUSED") ++reused;
      if (attempt.code != StatusCode::OK) continue;
      auto [it, first] = acknowledged.emplace(record.op.request_id, attempt.transfer_id);
      if (!first && (it->second != attempt.transfer_id || !attempt.replayed)) {
        if (++disagreeing <= kExamplesMax) {
          ADD_FAILURE() << attempt.call_id << " answered transfer " << attempt.transfer_id
                        << " (replayed " << attempt.replayed << ") after " << it->second;
        }
      }
    }
    if (record.Final() == Verdict::kUnclear) ++unsettled;
  }
  EXPECT_EQ(defects, 0) << "answers outside the contract (INTERNAL, UNKNOWN, ...)";
  EXPECT_EQ(reused, 0) << "IDEMPOTENCY_KEY_REUSED for a retry with the same payload";
  EXPECT_EQ(unsettled, 0);
  EXPECT_EQ(disagreeing, 0) << "a retry answered another transfer, or did not say replayed";

  // The ledger against the book: each acknowledged transfer exactly once and as asked, nothing
  // for a refused request, nothing nobody asked for.
  auto rows = admin().Query(
      "SELECT request_id, id, kind, coalesce(from_wallet_id::text, ''), "
      "coalesce(to_wallet_id::text, ''), amount FROM transfers");
  ASSERT_TRUE(rows.has_value()) << "cannot read the ledger";
  std::map<std::string, std::vector<std::vector<std::string>>> ledger;
  for (auto& row : *rows) ledger[row[0]].push_back(row);
  int64_t missing = 0, twice = 0, wrong = 0, refused_moved = 0, unasked = 0;
  std::set<std::string> asked;
  for (const Record& record : records) {
    const Op& op = record.op;
    asked.insert(op.request_id);
    auto it = ledger.find(op.request_id);
    const size_t n = it == ledger.end() ? 0 : it->second.size();
    if (record.Final() == Verdict::kRefused && n != 0) {
      if (++refused_moved <= kExamplesMax) ADD_FAILURE() << op.request_id << " refused, yet moved";
    }
    if (record.Final() != Verdict::kOk) continue;
    if (n == 0) {
      if (++missing <= kExamplesMax) ADD_FAILURE() << op.request_id << " acknowledged, not found";
      continue;
    }
    if (n > 1) ++twice;
    const auto& row = it->second.front();
    if (row[1] != acknowledged[op.request_id] || row[2] != KindName(op.kind) || row[3] != op.from ||
        row[4] != op.to || row[5] != std::to_string(op.amount)) {
      if (++wrong <= kExamplesMax) {
        ADD_FAILURE() << op.request_id << " in the ledger as " << absl::StrJoin(row, " ")
                      << ", acknowledged as " << acknowledged[op.request_id];
      }
    }
  }
  for (const auto& [rid, entries] : ledger) {
    if (!asked.count(rid) && !absl::StartsWith(rid, "seed-")) {
      if (++unasked <= kExamplesMax) ADD_FAILURE() << rid << " in the ledger, never asked for";
    }
  }
  EXPECT_EQ(missing, 0) << "acknowledged transfers missing from the ledger";
  EXPECT_EQ(twice, 0) << "acknowledged transfers in the ledger more than once";
  EXPECT_EQ(wrong, 0) << "ledger rows differing from what was acknowledged";
  EXPECT_EQ(refused_moved, 0) << "refused requests that moved money";
  EXPECT_EQ(unasked, 0) << "ledger rows for request ids never used";
  EXPECT_EQ(admin().Int("SELECT count(*) FROM (SELECT request_id FROM transfers GROUP BY 1 "
                        "HAVING count(*) > 1) d"),
            0)
      << "a request id twice in the ledger";

  // Balances equal the ledger: the latest posting carries balance and version, postings sum to
  // the balance with versions 1..n, each transfer's postings balance out.
  EXPECT_EQ(admin().Int("SELECT count(*) FROM wallets w JOIN LATERAL (SELECT * FROM entries e "
                        "WHERE e.wallet_id = w.id ORDER BY e.version DESC LIMIT 1) last ON true "
                        "WHERE last.balance_after <> w.balance OR last.version <> w.version"),
            0);
  EXPECT_EQ(admin().Int("SELECT count(*) FROM wallets w LEFT JOIN (SELECT wallet_id, "
                        "sum(amount) s, count(*) n, max(version) m FROM entries GROUP BY "
                        "wallet_id) e ON e.wallet_id = w.id WHERE coalesce(e.s, 0) <> w.balance "
                        "OR coalesce(e.n, 0) <> w.version OR coalesce(e.m, 0) <> w.version"),
            0);
  EXPECT_EQ(admin().Int("SELECT count(*) FROM transfers t JOIN (SELECT transfer_id, sum(amount) "
                        "s, count(*) n FROM entries GROUP BY transfer_id) e ON e.transfer_id = "
                        "t.id WHERE (t.kind = 'transfer' AND (e.s <> 0 OR e.n <> 2)) OR (t.kind "
                        "= 'deposit' AND (e.s <> t.amount OR e.n <> 1)) OR (t.kind = "
                        "'withdrawal' AND (e.s <> -t.amount OR e.n <> 1))"),
            0);
  EXPECT_EQ(admin().Int("SELECT count(*) FROM transfers t WHERE NOT EXISTS (SELECT 1 FROM "
                        "entries e WHERE e.transfer_id = t.id)"),
            0);

  // Money: each wallet holds its opening balance plus what the acknowledged requests moved, in
  // the database and on the wire; no other wallet holds any.
  std::map<std::string, int64_t> expected = opening_balances_;
  int64_t deposited = 0, withdrawn = 0;
  for (const Record& record : records) {
    if (record.Final() != Verdict::kOk) continue;
    for (auto& [wallet, balance] : expected) balance += Effect(record.op, wallet);
    if (record.op.kind == Kind::kDeposit) deposited += record.op.amount;
    if (record.op.kind == Kind::kWithdraw) withdrawn += record.op.amount;
  }
  auto balances = admin().Query("SELECT id, balance FROM wallets");
  ASSERT_TRUE(balances.has_value());
  int64_t total = 0, opening = 0, off = 0;
  for (const auto& [wallet, balance] : opening_balances_) opening += balance;
  for (const auto& row : *balances) {
    const int64_t balance = std::stoll(row[1]);
    total += balance;
    auto it = expected.find(row[0]);
    const int64_t want = it == expected.end() ? 0 : it->second;
    if (balance != want && ++off <= kExamplesMax) {
      ADD_FAILURE() << "wallet " << row[0] << " holds " << balance << ", expected " << want;
    }
  }
  EXPECT_EQ(off, 0) << "wallets whose balance is not what the acknowledged requests made it";
  EXPECT_EQ(total, opening + deposited - withdrawn) << "money appeared or vanished";
  int64_t wire_off = 0;
  for (const auto& [wallet, want] : expected) {
    wallet::v1::BalanceRequest request;
    request.set_wallet_id(wallet);
    wallet::v1::BalanceResponse response;
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    const ::grpc::Status status = Stub(0)->Balance(&ctx, request, &response);
    if ((!status.ok() || response.wallet().balance().minor_units() != want) &&
        ++wire_off <= kExamplesMax) {
      ADD_FAILURE() << "Balance of " << wallet << ": " << CodeName(status.error_code()) << " "
                    << response.wallet().balance().minor_units() << ", expected " << want;
    }
  }
  EXPECT_EQ(wire_off, 0);
  Figure(absl::StrFormat("money: %d = opening %d + deposits %d - withdrawals %d; %d transfers "
                         "in the ledger",
                         total, opening, deposited, withdrawn, rows->size()));

  // No session of walletd's left idle inside a transaction (given a moment, as a call abandoned
  // by its client may still be finishing).
  std::optional<int64_t> idle;
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  do {
    idle = admin().Int("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'walletd' "
                       "AND state LIKE 'idle in transaction%'");
    if (idle == 0) break;
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < give_up);
  EXPECT_EQ(idle, 0) << "walletd sessions idle in a transaction";
}

HealthStatus::ServingStatus FaultTest::Health() {
  std::shared_ptr<::grpc::Channel> channel;
  {
    std::lock_guard lock(mu_);
    channel = health_channel_;
  }
  auto stub = ::grpc::health::v1::Health::NewStub(channel);
  ::grpc::health::v1::HealthCheckRequest request;
  request.set_service("wallet.v1.WalletService");
  HealthStatus response;
  ::grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(250)));
  if (!stub->Check(&ctx, request, &response).ok()) return HealthStatus::UNKNOWN;
  return response.status();
}

absl::Duration FaultTest::Recovery(absl::Time since, absl::Duration bound) {
  const absl::Time give_up = since + bound;
  while (absl::Now() < give_up) {
    if (Health() == HealthStatus::SERVING) {
      wallet::v1::BalanceRequest request;
      request.set_wallet_id(wallets_.front());
      wallet::v1::BalanceResponse response;
      ::grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(
          absl::Now() + std::max(absl::Milliseconds(1),
                                 std::min(absl::Seconds(1), give_up - absl::Now()))));
      if (Stub(0)->Balance(&ctx, request, &response).ok()) return absl::Now() - since;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::InfiniteDuration();
}

}  // namespace walletd::testing::fault
