#include "tests/e2e/e2e_fixture.h"

#include <chrono>
#include <thread>

#include <atomic>

#include "google/rpc/status.pb.h"

namespace walletd::testing {

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const ::grpc::Status& status) {
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return std::nullopt;
  }
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info;
  }
  return std::nullopt;
}

void E2eTest::SetUp() {
  PgTest::SetUp();
  if (HasFatalFailure()) return;
  walletd_ = StartWalletd({});
  ASSERT_FALSE(walletd_->address().empty()) << "walletd did not start";
  stub_ = StubFor(*walletd_);
}

void E2eTest::TearDown() {
  stub_.reset();
  if (walletd_) {
    walletd_->Signal(SIGTERM);
    EXPECT_EQ(walletd_->Wait(absl::Seconds(20)), 0);
  }
  PgTest::TearDown();
}

std::unique_ptr<WalletdProcess> E2eTest::StartWalletd(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--insecure", "--dsn=" + dsn_, "--listen=127.0.0.1:0", "--pool_min=1",
                                   "--pool_max=8", "--shutdown_grace_ms=5000"};
  args.insert(args.end(), extra.begin(), extra.end());
  return WalletdProcess::Start(WALLETD_BINARY, args);
}

std::unique_ptr<WalletdProcess> E2eTest::StartWalletdWithTokens(
    const std::string& tokens_file, const std::vector<std::string>& extra) {
  // Plaintext (--insecure), but with a tokens file every call must still bring a token.
  std::vector<std::string> args = {"--insecure", "--tokens_file=" + tokens_file, "--dsn=" + dsn_,
                                   "--listen=127.0.0.1:0", "--pool_min=1", "--pool_max=8",
                                   "--shutdown_grace_ms=5000"};
  args.insert(args.end(), extra.begin(), extra.end());
  return WalletdProcess::Start(WALLETD_BINARY, args);
}

std::unique_ptr<wallet::v1::WalletService::Stub> E2eTest::StubFor(const WalletdProcess& process) {
  return wallet::v1::WalletService::NewStub(
      ::grpc::CreateChannel(process.address(), ::grpc::InsecureChannelCredentials()));
}

std::unique_ptr<::grpc::ClientContext> E2eTest::Client(absl::Duration timeout) {
  auto ctx = std::make_unique<::grpc::ClientContext>();
  if (timeout > absl::ZeroDuration()) ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

std::unique_ptr<::grpc::ClientContext> E2eTest::Client(absl::Duration timeout,
                                                       const std::string& token) {
  auto ctx = Client(timeout);
  ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

wallet::v1::TransferRequest E2eTest::TransferOf(const std::string& rid, const std::string& from,
                                                const std::string& to, int64_t amount) {
  wallet::v1::TransferRequest request;
  request.set_request_id(rid);
  request.set_from_wallet_id(from);
  request.set_to_wallet_id(to);
  request.mutable_amount()->set_minor_units(amount);
  request.mutable_amount()->set_currency("EUR");
  return request;
}

std::unique_ptr<Sql> E2eTest::LockRow(const std::string& wallet) {
  auto holder = std::make_unique<Sql>(BaseDsn() + " options='-csearch_path=" + schema_ + "'");
  holder->Exec("BEGIN");
  holder->Exec("SELECT 1 FROM wallets WHERE id = '" + wallet + "' FOR UPDATE");
  return holder;
}

bool E2eTest::WaitForLockWaiter() {
  for (int i = 0; i < 500; ++i) {
    if (sql_->Int("SELECT count(*) FROM pg_stat_activity WHERE " + Mine() +
                  " AND wait_event_type = 'Lock'") > 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string E2eTest::OpenWallet(int64_t balance, const std::string& currency) {
  static std::atomic<int> counter{0};
  const std::string n = std::to_string(counter.fetch_add(1));
  wallet::v1::CreateWalletRequest create;
  create.set_request_id("e2e-open-" + n);
  create.set_currency(currency);
  wallet::v1::CreateWalletResponse created;
  EXPECT_TRUE(stub_->CreateWallet(Client().get(), create, &created).ok());
  if (balance > 0) {
    wallet::v1::DepositRequest deposit;
    deposit.set_request_id("e2e-seed-" + n);
    deposit.set_wallet_id(created.wallet().id());
    deposit.mutable_amount()->set_minor_units(balance);
    deposit.mutable_amount()->set_currency(currency);
    wallet::v1::DepositResponse deposited;
    EXPECT_TRUE(stub_->Deposit(Client().get(), deposit, &deposited).ok());
  }
  return created.wallet().id();
}

int64_t E2eTest::WireBalance(const std::string& wallet_id) {
  wallet::v1::BalanceRequest request;
  request.set_wallet_id(wallet_id);
  wallet::v1::BalanceResponse response;
  const ::grpc::Status status = stub_->Balance(Client().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.wallet().balance().minor_units();
}

}  // namespace walletd::testing
