// Bearer tokens, scopes and tenants through the wire: walletd started with a tokens file, called
// with and without tokens. A tenant-bound token never sees, moves or learns of another tenant's
// wallet or transfer; the platform's token reaches every tenant but moves no money between two;
// tokens reload on SIGHUP; health and reflection need none; walletd refuses to start without
// tokens (unless --insecure) or with a bad tokens file; no token and no password reaches its log.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>

#include "absl/strings/str_join.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/e2e/e2e_fixture.h"

namespace walletd::testing {
namespace {

namespace v1 = ::wallet::v1;
using ::grpc::StatusCode;

// The tokens; the file holds only their SHA-256 (as `printf %s TOKEN | sha256sum` prints it).
constexpr char kPlatform[] = "tok-platform-7c1e5b0a";
constexpr char kShopA[] = "tok-shop-a-2f9d41e8";
constexpr char kShopB[] = "tok-shop-b-93be07c2";
constexpr char kReaderA[] = "tok-reader-a-5d2a6f11";
constexpr char kWriterA[] = "tok-writer-a-0b8c7e44";
constexpr char kNew[] = "tok-new-6a3f9d20";
constexpr char kMissingWallet[] = "00000000-0000-7000-8000-00000000dead";
constexpr char kMissingTransfer[] = "00000000-0000-7000-8000-00000000beef";

std::string Hash(const std::string& token) {
  // The same digest sha256sum prints; computed by the shell's sha256sum to check the documented
  // recipe, not walletd's code.
  const std::string command = "printf %s '" + token + "' | sha256sum";
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[128] = {};
  const size_t n = pipe != nullptr ? fread(buffer, 1, sizeof buffer - 1, pipe) : 0;
  if (pipe != nullptr) pclose(pipe);
  return std::string(buffer, n).substr(0, 64);
}

std::string TokenLine(const std::string& token, const std::string& scopes,
                      const std::string& tenant, const std::string& name) {
  return Hash(token) + " " + scopes + " " + tenant + " " + name + "\n";
}

std::string Tokens() {
  return "# walletd tokens: sha256, scopes, tenant, name\n" +
         TokenLine(kPlatform, "wallets:read,wallets:write", "*", "platform") +
         TokenLine(kShopA, "wallets:read,wallets:write", "shop-a", "shop-a-backend") +
         TokenLine(kShopB, "wallets:write,wallets:read", "shop-b", "shop-b-backend") +
         TokenLine(kReaderA, "wallets:read", "shop-a", "shop-a-reports") +
         TokenLine(kWriterA, "wallets:write", "shop-a", "shop-a-payouts");
}

class AuthTest : public E2eTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    tokens_file_ = ::testing::TempDir() + "walletd_auth_tokens_" + std::to_string(getpid()) + "_" +
                   schema_;
    WriteTokens(Tokens());
    walletd_ = StartWalletdWithTokens(tokens_file_, {});
    ASSERT_FALSE(walletd_->address().empty()) << "walletd did not start";
    stub_ = StubFor(*walletd_);
  }
  void TearDown() override {
    E2eTest::TearDown();
    std::remove(tokens_file_.c_str());
  }
  void WriteTokens(const std::string& text) {
    std::ofstream(tokens_file_ + ".tmp", std::ios::trunc) << text;
    // Renamed into place, as an operator should: walletd never reads a half-written file.
    ASSERT_EQ(std::rename((tokens_file_ + ".tmp").c_str(), tokens_file_.c_str()), 0);
  }

  // Calls of every method as `token` ("" for none); the status only.
  ::grpc::Status CreateWallet(const std::string& token, const std::string& rid,
                              const std::string& tenant = "", v1::Wallet* out = nullptr) {
    v1::CreateWalletRequest request;
    request.set_request_id(rid);
    request.set_currency("EUR");
    request.set_tenant(tenant);
    v1::CreateWalletResponse response;
    auto status = stub_->CreateWallet(Ctx(token).get(), request, &response);
    if (out != nullptr) *out = response.wallet();
    return status;
  }
  ::grpc::Status Deposit(const std::string& token, const std::string& rid,
                         const std::string& wallet, int64_t amount = 100) {
    v1::DepositRequest request;
    request.set_request_id(rid);
    request.set_wallet_id(wallet);
    request.mutable_amount()->set_minor_units(amount);
    request.mutable_amount()->set_currency("EUR");
    v1::DepositResponse response;
    return stub_->Deposit(Ctx(token).get(), request, &response);
  }
  ::grpc::Status Withdraw(const std::string& token, const std::string& rid,
                          const std::string& wallet) {
    v1::WithdrawRequest request;
    request.set_request_id(rid);
    request.set_wallet_id(wallet);
    request.mutable_amount()->set_minor_units(1);
    request.mutable_amount()->set_currency("EUR");
    v1::WithdrawResponse response;
    return stub_->Withdraw(Ctx(token).get(), request, &response);
  }
  ::grpc::Status Transfer(const std::string& token, const std::string& rid,
                          const std::string& from, const std::string& to,
                          std::string* transfer_id = nullptr) {
    v1::TransferRequest request;
    request.set_request_id(rid);
    request.set_from_wallet_id(from);
    request.set_to_wallet_id(to);
    request.mutable_amount()->set_minor_units(1);
    request.mutable_amount()->set_currency("EUR");
    v1::TransferResponse response;
    auto status = stub_->Transfer(Ctx(token).get(), request, &response);
    if (transfer_id != nullptr) *transfer_id = response.transfer().id();
    return status;
  }
  ::grpc::Status Balance(const std::string& token, const std::string& wallet,
                         int64_t* balance = nullptr) {
    v1::BalanceRequest request;
    request.set_wallet_id(wallet);
    v1::BalanceResponse response;
    auto status = stub_->Balance(Ctx(token).get(), request, &response);
    if (balance != nullptr) *balance = response.wallet().balance().minor_units();
    return status;
  }
  ::grpc::Status GetTransfer(const std::string& token, const std::string& id) {
    v1::GetTransferRequest request;
    request.set_transfer_id(id);
    v1::GetTransferResponse response;
    return stub_->GetTransfer(Ctx(token).get(), request, &response);
  }
  ::grpc::Status ListTransfers(const std::string& token, const std::string& wallet) {
    v1::ListTransfersRequest request;
    request.set_wallet_id(wallet);
    v1::ListTransfersResponse response;
    return stub_->ListTransfers(Ctx(token).get(), request, &response);
  }
  static std::unique_ptr<::grpc::ClientContext> Ctx(const std::string& token) {
    return token.empty() ? Client() : Client(absl::Seconds(10), token);
  }

  // A wallet of `token`'s tenant holding 100; its id.
  std::string FundedWallet(const std::string& token, const std::string& rid) {
    v1::Wallet wallet;
    EXPECT_TRUE(CreateWallet(token, rid, "", &wallet).ok());
    EXPECT_TRUE(Deposit(token, rid + "-fund", wallet.id()).ok());
    return wallet.id();
  }

  std::string tokens_file_;
};

// The message of `status` with `id` replaced by `as`: to compare a refusal about another tenant's
// id with the one about a missing id, word for word.
std::string MessageWith(const ::grpc::Status& status, const std::string& id,
                        const std::string& as) {
  std::string message = status.error_message();
  for (size_t at = message.find(id); at != std::string::npos; at = message.find(id, at)) {
    message.replace(at, id.size(), as);
  }
  return message;
}

TEST_F(AuthTest, MissingUnknownAndMalformedCredentialsAreUnauthenticatedAlike) {
  const std::string wallet = FundedWallet(kShopA, "a-1");
  std::string first_message;
  auto check = [&](const std::string& what, const ::grpc::Status& status) {
    EXPECT_THAT(status, GrpcIs(StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED")) << what;
    if (first_message.empty()) first_message = status.error_message();
    EXPECT_EQ(status.error_message(), first_message) << what;
  };
  check("no token", Balance("", wallet));
  check("no token, a write", Deposit("", "x-1", wallet));
  check("unknown token", Balance("tok-unknown", wallet));
  check("the hash instead of the token", Balance(Hash(kShopA), wallet));
  const std::string token(kShopA);
  for (const std::string& header :
       std::vector<std::string>{token, "Basic " + token, "Bearer", "Bearer  " + token}) {
    v1::BalanceRequest request;
    request.set_wallet_id(wallet);
    v1::BalanceResponse response;
    auto ctx = Client();
    ctx->AddMetadata("authorization", header);
    check("authorization: " + header, stub_->Balance(ctx.get(), request, &response));
  }
  {
    v1::BalanceRequest request;
    request.set_wallet_id(wallet);
    v1::BalanceResponse response;
    auto ctx = Client(absl::Seconds(10), kShopA);
    ctx->AddMetadata("authorization", std::string("Bearer ") + kShopA);
    check("two authorization headers", stub_->Balance(ctx.get(), request, &response));
  }
  // The scheme is case-insensitive.
  v1::BalanceRequest request;
  request.set_wallet_id(wallet);
  v1::BalanceResponse response;
  auto ctx = Client();
  ctx->AddMetadata("authorization", std::string("bearer ") + kShopA);
  EXPECT_TRUE(stub_->Balance(ctx.get(), request, &response).ok());
  EXPECT_EQ(response.wallet().balance().minor_units(), 100);
  EXPECT_EQ(response.wallet().tenant(), "shop-a");
}

TEST_F(AuthTest, EachMethodNeedsItsScope) {
  const std::string wallet = FundedWallet(kShopA, "a-1");
  const std::string other = FundedWallet(kShopA, "a-2");
  std::string transfer_id;
  ASSERT_TRUE(Transfer(kShopA, "a-t", wallet, other, &transfer_id).ok());
  auto needs = [](const std::string& scope) {
    return [scope](const std::string& method, const ::grpc::Status& status) {
      EXPECT_THAT(status, GrpcIs(StatusCode::PERMISSION_DENIED, "MISSING_SCOPE")) << method;
      auto info = ErrorInfoOf(status);
      ASSERT_TRUE(info.has_value()) << method;
      EXPECT_EQ(info->metadata().at("scope"), scope) << method;
    };
  };
  auto needs_write = needs("wallets:write"), needs_read = needs("wallets:read");
  // The reader reads, never writes.
  needs_write("CreateWallet", CreateWallet(kReaderA, "r-1"));
  needs_write("Deposit", Deposit(kReaderA, "r-2", wallet));
  needs_write("Withdraw", Withdraw(kReaderA, "r-3", wallet));
  needs_write("Transfer", Transfer(kReaderA, "r-4", wallet, other));
  EXPECT_TRUE(Balance(kReaderA, wallet).ok());
  EXPECT_TRUE(GetTransfer(kReaderA, transfer_id).ok());
  EXPECT_TRUE(ListTransfers(kReaderA, wallet).ok());
  // The writer writes, never reads.
  needs_read("Balance", Balance(kWriterA, wallet));
  needs_read("GetTransfer", GetTransfer(kWriterA, transfer_id));
  needs_read("ListTransfers", ListTransfers(kWriterA, wallet));
  EXPECT_TRUE(CreateWallet(kWriterA, "w-1").ok());
  EXPECT_TRUE(Deposit(kWriterA, "w-2", wallet).ok());
  EXPECT_TRUE(Withdraw(kWriterA, "w-3", wallet).ok());
  EXPECT_TRUE(Transfer(kWriterA, "w-4", wallet, other).ok());
  int64_t balance = 0;
  ASSERT_TRUE(Balance(kShopA, wallet, &balance).ok());
  EXPECT_EQ(balance, 100 - 1 + 100 - 1 - 1);  // Only the writer's movements happened.
}

TEST_F(AuthTest, ATenantNeverSeesMovesOrLearnsOfAnotherTenantsWallets) {
  const std::string mine = FundedWallet(kShopA, "a-1");
  const std::string theirs = FundedWallet(kShopB, "b-1");
  const std::string theirs_too = FundedWallet(kShopB, "b-2");
  std::string their_transfer;
  ASSERT_TRUE(Transfer(kShopB, "b-t", theirs, theirs_too, &their_transfer).ok());

  // Each call about their wallet, and the same call about a wallet that does not exist: the same
  // code, reason and message (but for the id).
  struct Probe {
    std::string method;
    std::function<::grpc::Status(const std::string& id)> call;
    const char* missing;
    const char* reason;
  };
  const std::vector<Probe> wallet_probes = {
      {"Balance", [&](const std::string& id) { return Balance(kShopA, id); }, kMissingWallet,
       "WALLET_NOT_FOUND"},
      {"Deposit", [&](const std::string& id) { return Deposit(kShopA, "p-dep", id); },
       kMissingWallet, "WALLET_NOT_FOUND"},
      {"Withdraw", [&](const std::string& id) { return Withdraw(kShopA, "p-wd", id); },
       kMissingWallet, "WALLET_NOT_FOUND"},
      {"Transfer to", [&](const std::string& id) { return Transfer(kShopA, "p-to", mine, id); },
       kMissingWallet, "WALLET_NOT_FOUND"},
      {"Transfer from", [&](const std::string& id) { return Transfer(kShopA, "p-fr", id, mine); },
       kMissingWallet, "WALLET_NOT_FOUND"},
      {"ListTransfers", [&](const std::string& id) { return ListTransfers(kShopA, id); },
       kMissingWallet, "WALLET_NOT_FOUND"},
  };
  for (const Probe& probe : wallet_probes) {
    const ::grpc::Status foreign = probe.call(theirs);
    const ::grpc::Status missing = probe.call(probe.missing);
    EXPECT_THAT(foreign, GrpcIs(StatusCode::NOT_FOUND, probe.reason)) << probe.method;
    EXPECT_THAT(missing, GrpcIs(StatusCode::NOT_FOUND, probe.reason)) << probe.method;
    EXPECT_EQ(MessageWith(foreign, theirs, "ID"), MessageWith(missing, probe.missing, "ID"))
        << probe.method;
  }
  const ::grpc::Status foreign = GetTransfer(kShopA, their_transfer);
  const ::grpc::Status missing = GetTransfer(kShopA, kMissingTransfer);
  EXPECT_THAT(foreign, GrpcIs(StatusCode::NOT_FOUND, "TRANSFER_NOT_FOUND"));
  EXPECT_EQ(MessageWith(foreign, their_transfer, "ID"), MessageWith(missing, kMissingTransfer, "ID"));

  // Nothing moved: their balances are as they were, and their history unchanged.
  int64_t balance = 0;
  ASSERT_TRUE(Balance(kShopB, theirs, &balance).ok());
  EXPECT_EQ(balance, 99);
  ASSERT_TRUE(Balance(kShopA, mine, &balance).ok());
  EXPECT_EQ(balance, 100);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE request_id LIKE 'p-%'"), 0);

  // Their request ids are no replays for us: the same id opens a wallet of our own.
  v1::Wallet ours;
  ASSERT_TRUE(CreateWallet(kShopA, "b-1", "", &ours).ok());
  EXPECT_NE(ours.id(), theirs);
  EXPECT_EQ(ours.tenant(), "shop-a");
  EXPECT_TRUE(Deposit(kShopA, "b-t", ours.id(), 5).ok());  // b-t moved their money, not ours.
  // Nor may we open wallets in their tenant.
  EXPECT_THAT(CreateWallet(kShopA, "a-9", "shop-b"),
              GrpcIs(StatusCode::PERMISSION_DENIED, "TENANT_FORBIDDEN"));
  EXPECT_TRUE(CreateWallet(kShopA, "a-10", "shop-a").ok());
}

TEST_F(AuthTest, ThePlatformTokenReachesEveryTenantButMovesNothingBetweenTwo) {
  const std::string a = FundedWallet(kShopA, "a-1");
  const std::string b = FundedWallet(kShopB, "b-1");
  EXPECT_TRUE(Balance(kPlatform, a).ok());
  EXPECT_TRUE(Balance(kPlatform, b).ok());
  EXPECT_TRUE(Deposit(kPlatform, "pl-1", b, 10).ok());
  EXPECT_TRUE(ListTransfers(kPlatform, a).ok());
  EXPECT_THAT(Transfer(kPlatform, "pl-x", a, b),
              GrpcIs(StatusCode::FAILED_PRECONDITION, "TENANT_MISMATCH"));
  v1::Wallet created;
  ASSERT_TRUE(CreateWallet(kPlatform, "pl-w", "", &created).ok());
  EXPECT_EQ(created.tenant(), "default");
  ASSERT_TRUE(CreateWallet(kPlatform, "pl-c", "shop-c", &created).ok());
  EXPECT_EQ(created.tenant(), "shop-c");
  EXPECT_THAT(Balance(kShopA, created.id()), GrpcIs(StatusCode::NOT_FOUND, "WALLET_NOT_FOUND"));
  EXPECT_THAT(CreateWallet(kPlatform, "pl-bad", "Shop C"),
              GrpcIs(StatusCode::INVALID_ARGUMENT, "INVALID_TENANT"));
  int64_t balance = 0;
  ASSERT_TRUE(Balance(kShopA, a, &balance).ok());
  EXPECT_EQ(balance, 100);
}

TEST_F(AuthTest, TokensReloadOnSighupAndABadFileKeepsThePreviousOnes) {
  const std::string wallet = FundedWallet(kShopA, "a-1");
  EXPECT_THAT(Balance(kNew, wallet), GrpcIs(StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));
  // kShopA goes, kNew comes (for the same tenant).
  WriteTokens(TokenLine(kPlatform, "wallets:read,wallets:write", "*", "platform") +
              TokenLine(kNew, "wallets:read", "shop-a", "shop-a-new"));
  walletd_->Signal(SIGHUP);
  ASSERT_TRUE(walletd_->WaitForLine("\"msg\":\"tokens reloaded\"", absl::Seconds(10)));
  EXPECT_TRUE(Balance(kNew, wallet).ok());
  EXPECT_THAT(Balance(kShopA, wallet), GrpcIs(StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));

  // A malformed file is refused, the log says why (the line, not its text), the set stays.
  WriteTokens(TokenLine(kPlatform, "wallets:read", "*", "platform") + kShopB +
              " wallets:read shop-b pasted-the-token\n");
  walletd_->Signal(SIGHUP);
  ASSERT_TRUE(walletd_->WaitForLine("tokens file refused", absl::Seconds(10)));
  bool said_line = false;
  for (const std::string& line : walletd_->Lines()) {
    if (line.find("tokens file refused") != std::string::npos) {
      said_line = line.find("line 2") != std::string::npos;
    }
  }
  EXPECT_TRUE(said_line);
  EXPECT_TRUE(Balance(kNew, wallet).ok());
  EXPECT_THAT(Balance(kShopB, wallet), GrpcIs(StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));
  // And the platform token kept its write scope: the refused file's narrower line never applied.
  EXPECT_TRUE(Deposit(kPlatform, "pl-1", wallet, 1).ok());
}

TEST_F(AuthTest, HealthAndReflectionNeedNoToken) {
  auto channel = ::grpc::CreateChannel(walletd_->address(), ::grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse serving;
  ASSERT_TRUE(health->Check(Client().get(), check, &serving).ok());
  EXPECT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  auto ctx = Client();
  auto stream = reflection->ServerReflectionInfo(ctx.get());
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("");
  grpc::reflection::v1alpha::ServerReflectionResponse services;
  ASSERT_TRUE(stream->Write(list));
  ASSERT_TRUE(stream->Read(&services));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  bool listed = false;
  for (const auto& s : services.list_services_response().service()) {
    listed = listed || s.name() == "wallet.v1.WalletService";
  }
  EXPECT_TRUE(listed);
}

TEST_F(AuthTest, TheLogNamesCallersAndNeverHoldsATokenOrItsHash) {
  const std::string wallet = FundedWallet(kShopA, "a-1");
  EXPECT_FALSE(Balance(kShopB, wallet).ok());
  EXPECT_FALSE(Balance("tok-wrong-1234", wallet).ok());
  ASSERT_TRUE(walletd_->WaitForLine("\"caller\":\"shop-b-backend\"", absl::Seconds(5)));
  EXPECT_TRUE(walletd_->WaitForLine("\"caller\":\"shop-a-backend\"", absl::Seconds(5)));
  for (const std::string& line : walletd_->Lines()) {
    for (const std::string& secret : {std::string(kShopA), std::string(kShopB),
                                      std::string("tok-wrong-1234"), Hash(kShopA)}) {
      EXPECT_EQ(line.find(secret), std::string::npos) << line;
    }
  }
}

// Start-up refusals: each walletd exits 2 before serving, and says why.
class StartupTest : public PgTest {
 protected:
  // Runs walletd with `args` until it exits; its exit status and log.
  int Run(const std::vector<std::string>& args, std::vector<std::string>* lines) {
    auto process = WalletdProcess::Start(WALLETD_BINARY, args);
    EXPECT_TRUE(process->address().empty()) << "walletd started";
    const int status = process->Wait(absl::Seconds(20));
    *lines = process->Lines();
    return status;
  }
  static bool Said(const std::vector<std::string>& lines, const std::string& what) {
    for (const std::string& line : lines) {
      if (line.find(what) != std::string::npos) return true;
    }
    return false;
  }
  std::string File(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + name + "_" + schema_;
    std::ofstream(path, std::ios::trunc) << text;
    files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& path : files_) std::remove(path.c_str());
    PgTest::TearDown();
  }
  std::vector<std::string> files_;
};

TEST_F(StartupTest, WithoutATokensFileOrInsecureWalletdRefusesAndSaysSo) {
  std::vector<std::string> lines;
  EXPECT_EQ(Run({"--dsn=" + dsn_, "--listen=127.0.0.1:0"}, &lines), 2);
  EXPECT_TRUE(Said(lines, "--tokens_file")) << absl::StrJoin(lines, "\n");
  EXPECT_TRUE(Said(lines, "--insecure")) << absl::StrJoin(lines, "\n");
}

TEST_F(StartupTest, AMalformedOrMissingTokensFileRefusesToStart) {
  std::vector<std::string> lines;
  const std::string bad = File("tokens_bad", "tok-raw-secret-99 wallets:read * raw\n");
  EXPECT_EQ(Run({"--insecure", "--tokens_file=" + bad, "--dsn=" + dsn_, "--listen=127.0.0.1:0"},
                &lines),
            2);
  EXPECT_TRUE(Said(lines, "tokens file refused")) << absl::StrJoin(lines, "\n");
  EXPECT_TRUE(Said(lines, "line 1")) << absl::StrJoin(lines, "\n");
  EXPECT_FALSE(Said(lines, "tok-raw-secret-99")) << absl::StrJoin(lines, "\n");
  EXPECT_EQ(Run({"--insecure", "--tokens_file=" + bad + ".absent", "--dsn=" + dsn_,
                 "--listen=127.0.0.1:0"},
                &lines),
            2);
  EXPECT_TRUE(Said(lines, "tokens file refused")) << absl::StrJoin(lines, "\n");
}

TEST_F(StartupTest, TheDsnComesFromAFileAndNoPasswordReachesTheLog) {
  // From a file: walletd serves.
  const std::string tokens = File("tokens_ok", TokenLine(kPlatform, "wallets:read", "*", "p"));
  const std::string dsn_file = File("dsn", dsn_ + "\n");
  auto served = WalletdProcess::Start(WALLETD_BINARY, {"--insecure", "--tokens_file=" + tokens,
                                                       "--dsn_file=" + dsn_file,
                                                       "--listen=127.0.0.1:0"});
  EXPECT_FALSE(served->address().empty()) << absl::StrJoin(served->Lines(), "\n");
  served->Signal(SIGTERM);
  EXPECT_EQ(served->Wait(absl::Seconds(20)), 0);

  // An unreachable database with a password in the DSN: the log never shows the password.
  std::vector<std::string> lines;
  const std::string secret = "hunter2-sekrit";
  const std::string unreachable =
      File("dsn_bad", "host=/nonexistent/dir user=walletd password=" + secret + " dbname=x\n");
  EXPECT_EQ(Run({"--insecure", "--tokens_file=" + tokens, "--dsn_file=" + unreachable, "--listen=127.0.0.1:0",
                 "--migrate_timeout_ms=300"},
                &lines),
            1);
  EXPECT_TRUE(Said(lines, "migrations failed")) << absl::StrJoin(lines, "\n");
  EXPECT_FALSE(Said(lines, secret)) << absl::StrJoin(lines, "\n");
  // A malformed DSN: libpq's complaint would quote it; walletd says only that it is malformed.
  const std::string malformed = File("dsn_malformed", "password=" + secret + " " + secret + "\n");
  EXPECT_EQ(Run({"--insecure", "--tokens_file=" + tokens, "--dsn_file=" + malformed, "--listen=127.0.0.1:0"},
                &lines),
            2);
  EXPECT_TRUE(Said(lines, "no libpq connection string")) << absl::StrJoin(lines, "\n");
  EXPECT_FALSE(Said(lines, secret)) << absl::StrJoin(lines, "\n");
  EXPECT_EQ(Run({"--insecure", "--tokens_file=" + tokens, "--dsn=password=" + secret + " x",
                 "--listen=127.0.0.1:0"},
                &lines),
            2);
  EXPECT_FALSE(Said(lines, secret)) << absl::StrJoin(lines, "\n");
  // --dsn and --dsn_file together are ambiguous.
  EXPECT_EQ(Run({"--insecure", "--tokens_file=" + tokens, "--dsn_file=" + dsn_file, "--dsn=" + dsn_,
                 "--listen=127.0.0.1:0"},
                &lines),
            2);
}

}  // namespace
}  // namespace walletd::testing
