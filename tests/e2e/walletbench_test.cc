// walletbench as a process against a stand-in walletd that keeps its wallets in memory: its exit
// status must tell money conserved, money lost and balances that could not be read back apart.
// No PostgreSQL: what is under test is walletbench's verdict, not walletd.

#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "wallet/v1/wallet.grpc.pb.h"

namespace walletd::testing {
namespace {

namespace v1 = ::wallet::v1;

enum class Behaviour { kHonest, kLosesMoney, kBalanceFails, kBalanceOverloadedTwice };

// Wallets in a map; transfers move money unless told to lose it; Balance may fail as told.
class FakeWalletService final : public v1::WalletService::Service {
 public:
  explicit FakeWalletService(Behaviour behaviour) : behaviour_(behaviour) {}

  ::grpc::Status CreateWallet(::grpc::ServerContext*, const v1::CreateWalletRequest* request,
                              v1::CreateWalletResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = absl::StrCat("wallet-", balances_.size());
    balances_[id] = 0;
    response->mutable_wallet()->set_id(id);
    response->mutable_wallet()->mutable_balance()->set_currency(request->currency());
    return ::grpc::Status::OK;
  }
  ::grpc::Status Deposit(::grpc::ServerContext*, const v1::DepositRequest* request,
                         v1::DepositResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    balances_[request->wallet_id()] += request->amount().minor_units();
    return ::grpc::Status::OK;
  }
  ::grpc::Status Transfer(::grpc::ServerContext*, const v1::TransferRequest* request,
                          v1::TransferResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    balances_[request->from_wallet_id()] -= request->amount().minor_units();
    if (behaviour_ != Behaviour::kLosesMoney) {
      balances_[request->to_wallet_id()] += request->amount().minor_units();
    }
    return ::grpc::Status::OK;
  }
  ::grpc::Status Balance(::grpc::ServerContext*, const v1::BalanceRequest* request,
                         v1::BalanceResponse* response) override {
    if (behaviour_ == Behaviour::kBalanceFails) {
      return ::grpc::Status(::grpc::StatusCode::INTERNAL, "no balance today");
    }
    if (behaviour_ == Behaviour::kBalanceOverloadedTwice && overloaded_left_.fetch_sub(1) > 0) {
      return ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED, "busy");
    }
    std::lock_guard<std::mutex> lock(mu_);
    response->mutable_wallet()->set_id(request->wallet_id());
    response->mutable_wallet()->mutable_balance()->set_minor_units(balances_[request->wallet_id()]);
    return ::grpc::Status::OK;
  }

 private:
  const Behaviour behaviour_;
  std::atomic<int> overloaded_left_{2};
  std::mutex mu_;
  std::map<std::string, int64_t> balances_;
};

struct Outcome {
  int exit_status = -1;
  std::string output;
};

// Serves `behaviour` on a loopback port and runs a short walletbench against it.
Outcome RunWalletbenchAgainst(Behaviour behaviour) {
  FakeWalletService service(behaviour);
  int port = 0;
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  EXPECT_NE(port, 0);
  const std::string command =
      absl::StrCat(WALLETBENCH_BINARY, " --target=127.0.0.1:", port,
                   " --concurrency=4 --calls=40 --warmup_s=0 --wallets=3 --run_id=wbt 2>&1");
  Outcome outcome;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return outcome;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) outcome.output.append(buffer, n);
  const int status = pclose(pipe);
  outcome.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return outcome;
}

using ::testing::HasSubstr;

TEST(WalletbenchTest, ExitsZeroWhenEveryCallSucceededAndMoneyIsConserved) {
  const Outcome outcome = RunWalletbenchAgainst(Behaviour::kHonest);
  EXPECT_EQ(outcome.exit_status, 0) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr("money conserved: yes"));
  EXPECT_THAT(outcome.output, HasSubstr("\"money_conserved\":true"));
}

TEST(WalletbenchTest, ExitsThreeWhenTheWalletsHoldLessThanWasDeposited) {
  const Outcome outcome = RunWalletbenchAgainst(Behaviour::kLosesMoney);
  EXPECT_EQ(outcome.exit_status, 3) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr("money conserved: NO"));
}

TEST(WalletbenchTest, ExitsFourWhenTheBalancesCannotBeReadBack) {
  const Outcome outcome = RunWalletbenchAgainst(Behaviour::kBalanceFails);
  EXPECT_EQ(outcome.exit_status, 4) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr("money conserved: not verified"));
  EXPECT_THAT(outcome.output, HasSubstr("\"money_conserved\":null"));
  EXPECT_THAT(outcome.output, ::testing::Not(HasSubstr("NOT CONSERVED")));
}

TEST(WalletbenchTest, RetriesABalanceWalletdAsksToRetry) {
  const Outcome outcome = RunWalletbenchAgainst(Behaviour::kBalanceOverloadedTwice);
  EXPECT_EQ(outcome.exit_status, 0) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr("money conserved: yes"));
}

TEST(WalletbenchTest, HelpListsTheExitStatuses) {
  FILE* pipe = popen(WALLETBENCH_BINARY " --help 2>&1", "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  pclose(pipe);
  EXPECT_THAT(output, HasSubstr("Exit status"));
  EXPECT_THAT(output, HasSubstr("4  not verified"));
}

}  // namespace
}  // namespace walletd::testing
