// walletd under operational conditions, through a real channel: health, reflection, deadlines,
// overload, conflicts, an unreachable database, a COMMIT cut short, SIGTERM under load, and money
// conserved by many concurrent clients.

#include <cstdlib>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <thread>

#include "absl/random/random.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/e2e/e2e_fixture.h"

namespace walletd::testing {
namespace {

using ::grpc::StatusCode;

class OperationsTest : public E2eTest {
 protected:
  ::grpc::Status Send(wallet::v1::WalletService::Stub& stub, const wallet::v1::TransferRequest& r,
                      absl::Duration timeout = absl::Seconds(10)) {
    wallet::v1::TransferResponse response;
    return stub.Transfer(Client(timeout).get(), r, &response);
  }
  static grpc::health::v1::HealthCheckResponse::ServingStatus Health(const WalletdProcess& p,
                                                                     const std::string& service) {
    auto stub = grpc::health::v1::Health::NewStub(
        ::grpc::CreateChannel(p.address(), ::grpc::InsecureChannelCredentials()));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    if (!stub->Check(Client().get(), request, &response).ok()) {
      return grpc::health::v1::HealthCheckResponse::UNKNOWN;
    }
    return response.status();
  }
  // Starts walletd with `flags`, ties up one of its calls on a row lock held elsewhere, and returns
  // what a Balance call gets meanwhile (and how long it took); then frees the lock and checks that
  // the tied-up call completes and walletd stops cleanly.
  ::grpc::Status BalanceWhileOneCallIsStuck(const std::vector<std::string>& flags,
                                            absl::Duration* took) {
    auto walletd = StartWalletd(flags);
    auto stub = StubFor(*walletd);
    const std::string a = OpenWallet(100), b = OpenWallet(0);
    auto holder = LockRow(a);
    auto blocked =
        std::async(std::launch::async, [&] { return Send(*stub, TransferOf("blk", a, b, 5)); });
    EXPECT_TRUE(WaitForLockWaiter());
    wallet::v1::BalanceRequest request;
    request.set_wallet_id(b);
    wallet::v1::BalanceResponse response;
    const absl::Time start = absl::Now();
    const ::grpc::Status status = stub->Balance(Client().get(), request, &response);
    *took = absl::Now() - start;
    holder->Exec("COMMIT");
    EXPECT_TRUE(blocked.get().ok());
    walletd->Signal(SIGTERM);
    EXPECT_EQ(walletd->Wait(absl::Seconds(10)), 0);
    return status;
  }
};

TEST_F(OperationsTest, HealthServesWhileTheDatabaseIsReachable) {
  EXPECT_EQ(Health(*walletd_, ""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(*walletd_, "wallet.v1.WalletService"),
            grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(OperationsTest, UnreachableDatabaseIsNotServingAndUnavailable) {
  auto down = StartWalletd({"--dsn=host=/nonexistent-walletd-socket dbname=walletd",
                            "--migrate=false", "--health_interval_ms=200"});
  ASSERT_FALSE(down->address().empty());
  EXPECT_EQ(Health(*down, ""), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(*down, "wallet.v1.WalletService"),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  wallet::v1::BalanceRequest request;
  request.set_wallet_id("0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
  wallet::v1::BalanceResponse response;
  EXPECT_THAT(StubFor(*down)->Balance(Client().get(), request, &response),
              GrpcIs(StatusCode::UNAVAILABLE, reason::kDatabaseUnavailable));
  down->Signal(SIGTERM);
  EXPECT_EQ(down->Wait(absl::Seconds(10)), 0);
}

// Runs a shell command and returns its standard output, trailing newline removed.
std::string Shell(const std::string& command) {
  std::string out;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
    EXPECT_EQ(pclose(pipe), 0) << command;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST_F(OperationsTest, HealthFollowsTheDatabaseDownAndBackUp) {
  // A cluster of its own, so that stopping it disturbs no other test.
  char dir[] = "/tmp/walletd-health-pg.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string pg = std::string(WALLETD_SOURCE_DIR) + "/deploy/pg-throwaway";
  const std::string dsn = Shell(pg + " start " + dir + " --fast");
  // Destroyed however the test ends, a failed ASSERT included: no server outlives the test.
  struct Cluster {
    std::string destroy;
    ~Cluster() { (void)std::system(destroy.c_str()); }
  } cluster{pg + " destroy " + dir + " >/dev/null 2>&1"};
  auto walletd = StartWalletd({"--dsn=" + dsn, "--health_interval_ms=100", "--pool_min=1"});
  ASSERT_FALSE(walletd->address().empty());
  auto stub = StubFor(*walletd);
  auto health_becomes = [&](grpc::health::v1::HealthCheckResponse::ServingStatus want) {
    for (int i = 0; i < 150; ++i) {
      if (Health(*walletd, "wallet.v1.WalletService") == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  wallet::v1::CreateWalletRequest create;
  create.set_request_id("health-1");
  create.set_currency("EUR");
  wallet::v1::CreateWalletResponse created;
  ASSERT_TRUE(stub->CreateWallet(Client().get(), create, &created).ok());
  wallet::v1::BalanceRequest balance;
  balance.set_wallet_id(created.wallet().id());
  wallet::v1::BalanceResponse response;
  EXPECT_TRUE(health_becomes(grpc::health::v1::HealthCheckResponse::SERVING));

  Shell(pg + " stop " + dir);
  EXPECT_TRUE(health_becomes(grpc::health::v1::HealthCheckResponse::NOT_SERVING));
  EXPECT_THAT(stub->Balance(Client().get(), balance, &response),
              GrpcIs(StatusCode::UNAVAILABLE, reason::kDatabaseUnavailable));

  Shell(pg + " start " + dir + " --fast");
  EXPECT_TRUE(health_becomes(grpc::health::v1::HealthCheckResponse::SERVING));
  // The pool dropped the dead connections and opened new ones: calls work again.
  EXPECT_TRUE(stub->Balance(Client().get(), balance, &response).ok());
  walletd->Signal(SIGTERM);
  EXPECT_EQ(walletd->Wait(absl::Seconds(10)), 0);
}

TEST_F(OperationsTest, ReflectionListsAndDescribesTheService) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(
      ::grpc::CreateChannel(walletd_->address(), ::grpc::InsecureChannelCredentials()));
  auto ctx = Client();
  auto stream = stub->ServerReflectionInfo(ctx.get());
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("");
  ASSERT_TRUE(stream->Write(list));
  grpc::reflection::v1alpha::ServerReflectionResponse listed;
  ASSERT_TRUE(stream->Read(&listed));
  std::set<std::string> services;
  for (const auto& s : listed.list_services_response().service()) services.insert(s.name());
  EXPECT_TRUE(services.count("wallet.v1.WalletService"));
  EXPECT_TRUE(services.count("grpc.health.v1.Health"));

  grpc::reflection::v1alpha::ServerReflectionRequest describe;
  describe.set_file_containing_symbol("wallet.v1.WalletService");
  ASSERT_TRUE(stream->Write(describe));
  grpc::reflection::v1alpha::ServerReflectionResponse described;
  ASSERT_TRUE(stream->Read(&described));
  std::set<std::string> methods;
  for (const std::string& bytes : described.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    if (file.package() != "wallet.v1") continue;
    for (const auto& service : file.service()) {
      if (service.name() != "WalletService") continue;
      for (const auto& m : service.method()) methods.insert(m.name());
    }
  }
  EXPECT_EQ(methods, (std::set<std::string>{"CreateWallet", "Deposit", "Withdraw", "Transfer",
                                            "Balance", "GetTransfer", "ListTransfers"}));
  stream->WritesDone();
}

TEST_F(OperationsTest, DeadlineReachesTheDatabaseAndLeavesNothingOpen) {
  const std::string a = OpenWallet(100), b = OpenWallet(0);
  auto holder = LockRow(a);
  const absl::Time start = absl::Now();
  EXPECT_EQ(Send(*stub_, TransferOf("late-1", a, b, 10), absl::Milliseconds(500)).error_code(),
            StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LE(absl::Now() - start, absl::Milliseconds(700));
  // The server gave up too: its session is not left waiting or idle in a transaction.
  for (int i = 0; i < 100 && IdleInTransaction() + sql_->Int("SELECT count(*) FROM pg_stat_activity "
                                                             "WHERE " + Mine() + " AND wait_event_type = 'Lock'") > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(IdleInTransaction(), 0);
  holder->Exec("UPDATE wallets SET updated_at = now() WHERE id = '" + a + "'");
  holder->Exec("COMMIT");  // The lock holder was not disturbed.
  EXPECT_EQ(WireBalance(a), 100);
  // Tiny deadlines, over and over: each fails cleanly or succeeds, never leaves a transaction.
  absl::BitGen bits;
  int done = 0;
  for (int i = 0; i < 40; ++i) {
    auto status = Send(*stub_, TransferOf("tiny-" + std::to_string(i), a, b, 1),
                       absl::Microseconds(absl::Uniform(bits, 100, 3000)));
    EXPECT_TRUE(status.ok() || status.error_code() == StatusCode::DEADLINE_EXCEEDED)
        << status.error_message();
    done += status.ok();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(IdleInTransaction(), 0);
  ExpectLedgerMatchesBalances();
  EXPECT_EQ(WireBalance(a) + WireBalance(b), 100);
  std::cout << done << " of 40 tiny-deadline transfers made it\n";
}

TEST_F(OperationsTest, DefaultDeadlineAppliesToCallsWithoutOne) {
  auto strict = StartWalletd({"--default_deadline_ms=300"});
  const std::string a = OpenWallet(100), b = OpenWallet(0);
  auto holder = LockRow(a);
  wallet::v1::TransferResponse response;
  const absl::Time start = absl::Now();
  const ::grpc::Status status =
      StubFor(*strict)->Transfer(Client(absl::ZeroDuration()).get(), TransferOf("nodl", a, b, 1), &response);
  EXPECT_THAT(status, GrpcIs(StatusCode::DEADLINE_EXCEEDED, reason::kDeadlineExceeded));
  EXPECT_LE(absl::Now() - start, absl::Milliseconds(600));
  holder->Exec("ROLLBACK");
  strict->Signal(SIGTERM);
  EXPECT_EQ(strict->Wait(absl::Seconds(10)), 0);
}

TEST_F(OperationsTest, OverloadIsRefusedAtOnce) {
  absl::Duration took;
  EXPECT_THAT(BalanceWhileOneCallIsStuck({"--workers=1", "--queue_max=0", "--pool_max=2"}, &took),
              GrpcIs(StatusCode::RESOURCE_EXHAUSTED, reason::kOverloaded));
  EXPECT_LE(took, absl::Milliseconds(200));
}

// A call its client cancels while it waits for a row lock: walletd learns of it, does not commit
// when the lock frees, and logs the call as cancelled.
TEST_F(OperationsTest, TransferCancelledByItsClientMovesNoMoney) {
  const std::string a = OpenWallet(100), b = OpenWallet(0);
  auto holder = LockRow(a);
  auto ctx = Client();
  wallet::v1::TransferResponse response;
  auto pending = std::async(std::launch::async, [&] {
    return stub_->Transfer(ctx.get(), TransferOf("cancelled", a, b, 30), &response);
  });
  ASSERT_TRUE(WaitForLockWaiter());
  ctx->TryCancel();
  EXPECT_EQ(pending.get().error_code(), StatusCode::CANCELLED);
  // The client gave up at once; walletd hears of it from the stream's reset a moment later, and
  // nothing it does can tell the test when.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  holder->Exec("COMMIT");
  EXPECT_TRUE(walletd_->WaitForLine(R"("method":"Transfer","code":"CANCELLED")", absl::Seconds(10)));
  EXPECT_EQ(sql_->Int("SELECT balance FROM wallets WHERE id = '" + a + "'"), 100);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE request_id = 'cancelled'"), 0);
  ExpectLedgerMatchesBalances();
}

TEST_F(OperationsTest, ExhaustedPoolIsResourceExhausted) {
  absl::Duration took;
  EXPECT_THAT(BalanceWhileOneCallIsStuck({"--workers=2", "--pool_min=0", "--pool_max=1",
                                                 "--pool_acquire_timeout_ms=200"},
                                         &took),
              GrpcIs(StatusCode::RESOURCE_EXHAUSTED, reason::kPoolExhausted));
  EXPECT_GE(took, absl::Milliseconds(190));
}

TEST_F(OperationsTest, ConflictsBeyondTheRetryBudgetAreAborted) {
  auto serializable = StartWalletd({"--isolation=serializable", "--tx_attempts_max=1"});
  auto stub = StubFor(*serializable);
  const std::string a = OpenWallet(1'000'000), b = OpenWallet(1'000'000);
  std::mutex mu;
  std::map<std::string, int> outcomes;
  std::latch go(16);
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&, c] {
      go.arrive_and_wait();
      for (int k = 0; k < 10; ++k) {
        const bool forward = (c + k) % 2 == 0;
        const ::grpc::Status status =
            Send(*stub, TransferOf(absl::StrCat("ser-", c, "-", k), forward ? a : b, forward ? b : a, 1));
        auto info = ErrorInfoOf(status);
        std::lock_guard lock(mu);
        ++outcomes[status.ok() ? "OK" : absl::StrCat(status.error_code(), "/", info ? info->reason() : "")];
      }
    });
  }
  for (auto& t : clients) t.join();
  for (const auto& [outcome, n] : outcomes) std::cout << outcome << ": " << n << "\n";
  const std::string aborted = absl::StrCat(StatusCode::ABORTED, "/", "TRANSACTION_CONFLICT");
  EXPECT_GT(outcomes[aborted], 0);
  EXPECT_EQ(outcomes["OK"] + outcomes[aborted], 160);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE kind = 'transfer'"), outcomes["OK"]);
  ExpectLedgerMatchesBalances();
  serializable->Signal(SIGTERM);
  EXPECT_EQ(serializable->Wait(absl::Seconds(10)), 0);
}

TEST_F(OperationsTest, CommitCutShortIsUnavailableWithUnknownOutcomeThenRetriesCleanly) {
  const std::string a = OpenWallet(100), b = OpenWallet(0);
  sql_->Exec("CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
             "$$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$");
  sql_->Exec("CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON transfers DEFERRABLE "
             "INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()");
  auto pending = std::async(std::launch::async, [&] { return Send(*stub_, TransferOf("cut", a, b, 40)); });
  std::string pid;
  for (int i = 0; i < 500 && pid.empty(); ++i) {
    pid = sql_->Value("SELECT pid FROM pg_stat_activity WHERE " + Mine() +
                      " AND wait_event = 'PgSleep' LIMIT 1");
    if (pid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(pid.empty());
  sql_->Exec("SELECT pg_terminate_backend(" + pid + ")");
  EXPECT_THAT(pending.get(), GrpcIs(StatusCode::UNAVAILABLE, reason::kCommitOutcomeUnknown));
  sql_->Exec("DROP TRIGGER slow_commit ON transfers");
  EXPECT_TRUE(Send(*stub_, TransferOf("cut", a, b, 40)).ok());
  EXPECT_TRUE(Send(*stub_, TransferOf("cut", a, b, 40)).ok());
  EXPECT_EQ(WireBalance(a), 60);
  ExpectLedgerMatchesBalances();
}

TEST_F(OperationsTest, ManyClientsConserveMoney) {
  std::vector<std::string> wallets;
  for (int i = 0; i < 6; ++i) wallets.push_back(OpenWallet(50'000));
  std::atomic<int> failed{0};
  std::latch go(16);
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&, c] {
      absl::BitGen bits;
      go.arrive_and_wait();
      for (int k = 0; k < 40; ++k) {
        const size_t from = absl::Uniform<size_t>(bits, 0, wallets.size());
        size_t to = absl::Uniform<size_t>(bits, 0, wallets.size() - 1);
        if (to >= from) ++to;
        auto status = Send(*stub_, TransferOf(absl::StrCat("many-", c, "-", k), wallets[from],
                                              wallets[to], absl::Uniform<int64_t>(bits, 1, 500)));
        if (!status.ok()) {
          ++failed;
          ADD_FAILURE() << status.error_code() << " " << status.error_message();
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  int64_t total = 0;
  for (const auto& w : wallets) total += WireBalance(w);
  EXPECT_EQ(total, 6 * 50'000);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE kind = 'transfer'"), 640);
  ExpectLedgerMatchesBalances();
}

TEST_F(OperationsTest, SigtermUnderLoadFinishesInFlightCallsAndExitsZero) {
  std::vector<std::string> wallets;
  for (int i = 0; i < 4; ++i) wallets.push_back(OpenWallet(1'000'000));
  std::mutex mu;
  std::map<int, int> outcomes;         // By gRPC code.
  std::vector<std::string> ok, failed;  // Request ids.
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int k = 0; !stop.load(); ++k) {
        const std::string rid = absl::StrCat("term-", c, "-", k);
        const ::grpc::Status status = Send(
            *stub_, TransferOf(rid, wallets[c % 4], wallets[(c + 1) % 4], 1), absl::Seconds(5));
        std::lock_guard lock(mu);
        ++outcomes[status.error_code()];
        (status.ok() ? ok : failed).push_back(rid);
        if (!status.ok()) return;  // Refused: the server is going away.
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  walletd_->Signal(SIGTERM);
  const absl::Time signalled = absl::Now();
  EXPECT_EQ(walletd_->Wait(absl::Seconds(15)), 0);
  EXPECT_LE(absl::Now() - signalled, absl::Seconds(6));
  stop = true;
  for (auto& t : clients) t.join();
  for (const auto& [code, n] : outcomes) std::cout << "code " << code << ": " << n << "\n";
  EXPECT_GT(outcomes[StatusCode::OK], 0);
  // Every call either completed with its answer or had no effect at all: refused by the closing
  // server (UNAVAILABLE), or dropped by gRPC before reaching the service (CANCELLED).
  for (const auto& [code, n] : outcomes) {
    EXPECT_TRUE(code == StatusCode::OK || code == StatusCode::UNAVAILABLE ||
                code == StatusCode::CANCELLED)
        << "code " << code;
  }
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE request_id LIKE 'term-%'"),
            static_cast<int64_t>(ok.size()));
  for (const std::string& rid : failed) {
    EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE request_id = '" + rid + "'"), 0)
        << rid << " failed for the client but moved money";
  }
  // And the service finished every call it had started: none ended with an error.
  for (const auto& line : walletd_->Lines()) {
    if (line.find("\"msg\":\"call\"") != std::string::npos) {
      EXPECT_NE(line.find("\"code\":\"OK\""), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(walletd_->WaitForLine("\"msg\":\"stopped\"", absl::Seconds(1)));
  ExpectLedgerMatchesBalances();
}

}  // namespace
}  // namespace walletd::testing
