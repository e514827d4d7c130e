// Every RPC through a real channel: success paths, every error code with its ErrorInfo reason,
// idempotent replays, request ids and the per-call log line.

#include "tests/e2e/e2e_fixture.h"

namespace walletd::testing {
namespace {

using ::grpc::StatusCode;
using wallet::v1::Money;

Money M(int64_t minor_units, const std::string& currency = "EUR") {
  Money m;
  m.set_minor_units(minor_units);
  m.set_currency(currency);
  return m;
}

class ApiTest : public E2eTest {
 protected:
  ::grpc::Status Transfer(const std::string& rid, const std::string& from, const std::string& to,
                          const Money& amount, wallet::v1::TransferResponse* response = nullptr) {
    wallet::v1::TransferRequest request;
    request.set_request_id(rid);
    request.set_from_wallet_id(from);
    request.set_to_wallet_id(to);
    *request.mutable_amount() = amount;
    wallet::v1::TransferResponse ignored;
    return stub_->Transfer(Client().get(), request, response ? response : &ignored);
  }
  ::grpc::Status Deposit(const std::string& rid, const std::string& wallet, const Money& amount,
                         wallet::v1::DepositResponse* response = nullptr) {
    wallet::v1::DepositRequest request;
    request.set_request_id(rid);
    request.set_wallet_id(wallet);
    *request.mutable_amount() = amount;
    wallet::v1::DepositResponse ignored;
    return stub_->Deposit(Client().get(), request, response ? response : &ignored);
  }
  ::grpc::Status Withdraw(const std::string& rid, const std::string& wallet, const Money& amount,
                          wallet::v1::WithdrawResponse* response = nullptr) {
    wallet::v1::WithdrawRequest request;
    request.set_request_id(rid);
    request.set_wallet_id(wallet);
    *request.mutable_amount() = amount;
    wallet::v1::WithdrawResponse ignored;
    return stub_->Withdraw(Client().get(), request, response ? response : &ignored);
  }
};

TEST_F(ApiTest, EveryRpcSucceeds) {
  wallet::v1::CreateWalletRequest create;
  create.set_request_id("open-alice");
  create.set_currency("EUR");
  wallet::v1::CreateWalletResponse alice;
  ASSERT_TRUE(stub_->CreateWallet(Client().get(), create, &alice).ok());
  EXPECT_EQ(alice.wallet().balance().minor_units(), 0);
  EXPECT_EQ(alice.wallet().balance().currency(), "EUR");
  EXPECT_EQ(alice.wallet().version(), 0);
  EXPECT_GT(alice.wallet().created_at().seconds(), 1'700'000'000);
  EXPECT_FALSE(alice.replayed());
  const std::string a = alice.wallet().id();
  const std::string b = OpenWallet(0);

  wallet::v1::DepositResponse deposited;
  ASSERT_TRUE(Deposit("dep-1", a, M(1000), &deposited).ok());
  EXPECT_EQ(deposited.balance().minor_units(), 1000);
  EXPECT_EQ(deposited.transfer().kind(), wallet::v1::TRANSFER_KIND_DEPOSIT);
  EXPECT_EQ(deposited.transfer().to_wallet_id(), a);
  EXPECT_TRUE(deposited.transfer().from_wallet_id().empty());

  wallet::v1::TransferResponse moved;
  ASSERT_TRUE(Transfer("tr-1", a, b, M(300), &moved).ok());
  EXPECT_EQ(moved.from_balance().minor_units(), 700);
  EXPECT_EQ(moved.transfer().kind(), wallet::v1::TRANSFER_KIND_TRANSFER);
  EXPECT_EQ(moved.transfer().amount().minor_units(), 300);
  ASSERT_EQ(moved.transfer().postings_size(), 2);
  EXPECT_EQ(moved.transfer().postings(0).wallet_id(), a);
  EXPECT_EQ(moved.transfer().postings(0).change().minor_units(), -300);
  EXPECT_EQ(moved.transfer().postings(1).balance_after().minor_units(), 300);

  wallet::v1::WithdrawResponse withdrawn;
  ASSERT_TRUE(Withdraw("wd-1", b, M(100), &withdrawn).ok());
  EXPECT_EQ(withdrawn.balance().minor_units(), 200);

  wallet::v1::BalanceRequest balance_request;
  balance_request.set_wallet_id(a);
  wallet::v1::BalanceResponse balance;
  ASSERT_TRUE(stub_->Balance(Client().get(), balance_request, &balance).ok());
  EXPECT_EQ(balance.wallet().balance().minor_units(), 700);
  EXPECT_EQ(balance.wallet().version(), 2);

  wallet::v1::GetTransferRequest get;
  get.set_transfer_id(moved.transfer().id());
  wallet::v1::GetTransferResponse got;
  ASSERT_TRUE(stub_->GetTransfer(Client().get(), get, &got).ok());
  EXPECT_EQ(got.transfer().SerializeAsString(), moved.transfer().SerializeAsString());

  // History of a, newest first, one per page.
  std::vector<std::string> seen;
  std::string token;
  do {
    wallet::v1::ListTransfersRequest list;
    list.set_wallet_id(a);
    list.set_page_size(1);
    list.set_page_token(token);
    wallet::v1::ListTransfersResponse page;
    ASSERT_TRUE(stub_->ListTransfers(Client().get(), list, &page).ok());
    for (const auto& t : page.transfers()) seen.push_back(t.request_id());
    token = page.next_page_token();
  } while (!token.empty() && seen.size() < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"tr-1", "dep-1"}));
  ExpectLedgerMatchesBalances();
}

TEST_F(ApiTest, ReplaysAreIdempotentThroughTheWire) {
  const std::string a = OpenWallet(1000), b = OpenWallet(0);
  wallet::v1::TransferResponse first, second;
  ASSERT_TRUE(Transfer("pay-7", a, b, M(250), &first).ok());
  ASSERT_TRUE(Transfer("pay-7", a, b, M(250), &second).ok());
  EXPECT_FALSE(first.replayed());
  EXPECT_TRUE(second.replayed());
  EXPECT_EQ(second.transfer().SerializeAsString(), first.transfer().SerializeAsString());
  EXPECT_EQ(second.from_balance().minor_units(), 750);
  EXPECT_EQ(WireBalance(a), 750);
  EXPECT_THAT(Transfer("pay-7", a, b, M(251)),
              GrpcIs(StatusCode::FAILED_PRECONDITION, reason::kIdempotencyKeyReused));
  wallet::v1::CreateWalletRequest create;
  create.set_request_id("open-twice");
  create.set_currency("USD");
  wallet::v1::CreateWalletResponse one, two;
  ASSERT_TRUE(stub_->CreateWallet(Client().get(), create, &one).ok());
  ASSERT_TRUE(stub_->CreateWallet(Client().get(), create, &two).ok());
  EXPECT_TRUE(two.replayed());
  EXPECT_EQ(two.wallet().id(), one.wallet().id());
  create.set_currency("GBP");
  EXPECT_THAT(stub_->CreateWallet(Client().get(), create, &two),
              GrpcIs(StatusCode::FAILED_PRECONDITION, reason::kIdempotencyKeyReused));
}

TEST_F(ApiTest, BadInputIsInvalidArgumentAndChangesNothing) {
  const std::string a = OpenWallet(100), b = OpenWallet(0);
  using C = StatusCode;
  EXPECT_THAT(Transfer("", a, b, M(1)), GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidRequestId));
  EXPECT_THAT(Transfer(std::string(129, 'x'), a, b, M(1)),
              GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidRequestId));
  EXPECT_THAT(Transfer("r", "nope", b, M(1)), GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidWalletId));
  EXPECT_THAT(Transfer("r", a, a, M(1)), GrpcIs(C::INVALID_ARGUMENT, reason::kSameWallet));
  EXPECT_THAT(Transfer("r", a, b, M(0)), GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidAmount));
  EXPECT_THAT(Transfer("r", a, b, M(-5)), GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidAmount));
  EXPECT_THAT(Transfer("r", a, b, Money()), GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidAmount));
  EXPECT_THAT(Transfer("r", a, b, M(1, "euro")), GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidCurrency));
  EXPECT_THAT(Deposit("r", a, M(1, "")), GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidCurrency));
  wallet::v1::GetTransferRequest get;
  get.set_transfer_id("42");
  wallet::v1::GetTransferResponse got;
  EXPECT_THAT(stub_->GetTransfer(Client().get(), get, &got),
              GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidTransferId));
  wallet::v1::ListTransfersRequest list;
  list.set_wallet_id(a);
  list.set_page_size(-1);
  wallet::v1::ListTransfersResponse page;
  EXPECT_THAT(stub_->ListTransfers(Client().get(), list, &page),
              GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidPageSize));
  list.set_page_size(10);
  list.set_page_token("not-a-token");
  EXPECT_THAT(stub_->ListTransfers(Client().get(), list, &page),
              GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidPageToken));
  wallet::v1::CreateWalletRequest create;
  create.set_request_id("r");
  create.set_currency("XYZ");
  wallet::v1::CreateWalletResponse created;
  EXPECT_THAT(stub_->CreateWallet(Client().get(), create, &created),
              GrpcIs(C::INVALID_ARGUMENT, reason::kInvalidCurrency));
  // Nothing changed.
  EXPECT_EQ(WireBalance(a), 100);
  EXPECT_EQ(WireBalance(b), 0);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers"), 1);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM wallets"), 2);
}

TEST_F(ApiTest, BusinessRulesAreFailedPreconditionOrNotFound) {
  const std::string a = OpenWallet(100), b = OpenWallet(0), usd = OpenWallet(0, "USD");
  const std::string unknown = "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d";
  using C = StatusCode;
  EXPECT_THAT(Transfer("r1", a, b, M(101)), GrpcIs(C::FAILED_PRECONDITION, reason::kInsufficientFunds));
  EXPECT_THAT(Withdraw("r2", b, M(1)), GrpcIs(C::FAILED_PRECONDITION, reason::kInsufficientFunds));
  EXPECT_THAT(Transfer("r3", a, usd, M(1)), GrpcIs(C::FAILED_PRECONDITION, reason::kCurrencyMismatch));
  EXPECT_THAT(Deposit("r4", a, M(1, "USD")), GrpcIs(C::FAILED_PRECONDITION, reason::kCurrencyMismatch));
  ASSERT_TRUE(Deposit("r5", b, M(INT64_MAX)).ok());
  EXPECT_THAT(Transfer("r6", a, b, M(1)), GrpcIs(C::FAILED_PRECONDITION, reason::kBalanceOverflow));
  EXPECT_THAT(Transfer("r7", a, unknown, M(1)), GrpcIs(C::NOT_FOUND, reason::kWalletNotFound));
  wallet::v1::BalanceRequest balance;
  balance.set_wallet_id(unknown);
  wallet::v1::BalanceResponse ignored;
  EXPECT_THAT(stub_->Balance(Client().get(), balance, &ignored),
              GrpcIs(C::NOT_FOUND, reason::kWalletNotFound));
  wallet::v1::GetTransferRequest get;
  get.set_transfer_id(unknown);
  wallet::v1::GetTransferResponse got;
  EXPECT_THAT(stub_->GetTransfer(Client().get(), get, &got),
              GrpcIs(C::NOT_FOUND, reason::kTransferNotFound));
  wallet::v1::ListTransfersRequest list;
  list.set_wallet_id(unknown);
  wallet::v1::ListTransfersResponse page;
  EXPECT_THAT(stub_->ListTransfers(Client().get(), list, &page),
              GrpcIs(C::NOT_FOUND, reason::kWalletNotFound));
  EXPECT_EQ(WireBalance(a), 100);
}

TEST_F(ApiTest, CorruptStoredDataIsInternalWithoutLeakingDetails) {
  // "ABC" passes the table's format check but is no ISO-4217 code: the adapter refuses to
  // serve it, and the client learns only the request id to report.
  sql_->Exec("INSERT INTO wallets VALUES ('0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d', 'corrupt', "
             "'ABC', 0, 0, now(), now())");
  wallet::v1::BalanceRequest request;
  request.set_wallet_id("0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
  wallet::v1::BalanceResponse response;
  auto ctx = Client();
  ctx->AddMetadata("x-request-id", "support-ticket-42");
  const ::grpc::Status status = stub_->Balance(ctx.get(), request, &response);
  EXPECT_THAT(status, GrpcIs(StatusCode::INTERNAL, reason::kInternal));
  EXPECT_EQ(status.error_message(),
            "internal error; quote request_id support-ticket-42 when reporting it");
  EXPECT_EQ(ErrorInfoOf(status)->metadata().at("request_id"), "support-ticket-42");
  // The log keeps the real cause for the operator.
  EXPECT_TRUE(walletd_->WaitForLine("\"request_id\":\"support-ticket-42\"", absl::Seconds(5)));
  bool cause_logged = false;
  for (const auto& line : walletd_->Lines()) {
    cause_logged |= line.find("support-ticket-42") != std::string::npos &&
                    line.find("\"level\":\"error\"") != std::string::npos &&
                    line.find("ABC") != std::string::npos;
  }
  EXPECT_TRUE(cause_logged);
}

TEST_F(ApiTest, RequestIdIsEchoedAndEveryCallIsLoggedOnce) {
  const std::string a = OpenWallet(5);
  wallet::v1::BalanceRequest request;
  request.set_wallet_id(a);
  wallet::v1::BalanceResponse response;
  auto ctx = Client();
  ctx->AddMetadata("x-request-id", "trace-abc-123");
  ASSERT_TRUE(stub_->Balance(ctx.get(), request, &response).ok());
  const auto& echoed = ctx->GetServerInitialMetadata();
  ASSERT_EQ(echoed.count("x-request-id"), 1u);
  EXPECT_EQ(std::string(echoed.find("x-request-id")->second.data(),
                        echoed.find("x-request-id")->second.size()),
            "trace-abc-123");
  ASSERT_TRUE(walletd_->WaitForLine("trace-abc-123", absl::Seconds(5)));
  int lines = 0;
  for (const auto& line : walletd_->Lines()) {
    if (line.find("trace-abc-123") == std::string::npos) continue;
    ++lines;
    EXPECT_NE(line.find("\"method\":\"Balance\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"code\":\"OK\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"duration_ms\":"), std::string::npos) << line;
    EXPECT_NE(line.find("\"queued_ms\":"), std::string::npos) << line;
  }
  EXPECT_EQ(lines, 1);
  // Without one, walletd makes one up and still echoes it.
  auto plain = Client();
  ASSERT_TRUE(stub_->Balance(plain.get(), request, &response).ok());
  EXPECT_EQ(plain->GetServerInitialMetadata().count("x-request-id"), 1u);
}

}  // namespace
}  // namespace walletd::testing
