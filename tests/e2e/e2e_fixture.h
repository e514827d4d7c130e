#pragma once
// End-to-end tests: walletd as a process on its own schema, called through a real gRPC channel.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "tests/e2e/walletd_process.h"
#include "tests/integration/pg_fixture.h"
#include "wallet/v1/wallet.grpc.pb.h"

namespace walletd::testing {

// The ErrorInfo in a status's details, if any.
std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const ::grpc::Status& status);

MATCHER_P2(GrpcIs, code, reason,
           std::string("has gRPC code ") + std::to_string(static_cast<int>(code)) +
               " and ErrorInfo reason " + std::string(reason)) {
  auto info = ErrorInfoOf(arg);
  *result_listener << "which has code " << arg.error_code() << " (" << arg.error_message()
                   << "), reason " << (info ? info->reason() : "<none>");
  return arg.error_code() == code && info.has_value() && info->reason() == std::string(reason) &&
         info->domain() == "walletd" && !info->metadata().at("request_id").empty();
}

class E2eTest : public PgTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Another walletd on this test's schema, with `extra` flags after the defaults.
  std::unique_ptr<WalletdProcess> StartWalletd(const std::vector<std::string>& extra);
  static std::unique_ptr<wallet::v1::WalletService::Stub> StubFor(const WalletdProcess& process);

  // A walletd on this test's schema that authenticates callers with `tokens_file` (plaintext: TLS
  // has tests of its own),
  // with `extra` flags after the defaults.
  std::unique_ptr<WalletdProcess> StartWalletdWithTokens(const std::string& tokens_file,
                                                         const std::vector<std::string>& extra);

  // A client context with `timeout` (no deadline when zero).
  static std::unique_ptr<::grpc::ClientContext> Client(absl::Duration timeout = absl::Seconds(10));
  // The same, sending `authorization: Bearer <token>`.
  static std::unique_ptr<::grpc::ClientContext> Client(absl::Duration timeout,
                                                       const std::string& token);

  // A transfer of `amount` euro cents from `from` to `to` with request id `rid`.
  static wallet::v1::TransferRequest TransferOf(const std::string& rid, const std::string& from,
                                                const std::string& to, int64_t amount);
  // Holds a row lock on `wallet` from a side session until the returned Sql commits or rolls
  // back, so that calls touching it wait as long as the test decides.
  std::unique_ptr<Sql> LockRow(const std::string& wallet);
  // Waits (at most 5 s) until one of walletd's sessions waits for a lock.
  bool WaitForLockWaiter();

  // Through the wire: a new wallet with `balance` deposited; its id.
  std::string OpenWallet(int64_t balance, const std::string& currency = "EUR");
  int64_t WireBalance(const std::string& wallet_id);

  std::unique_ptr<WalletdProcess> walletd_;
  std::unique_ptr<wallet::v1::WalletService::Stub> stub_;
};

}  // namespace walletd::testing
