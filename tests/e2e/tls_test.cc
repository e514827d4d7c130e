// walletd over TLS, through real TLS channels: the handshake and calls, mutual TLS refusing
// clients at the handshake, certificates rotated on SIGHUP without dropping a call, bad files on
// SIGHUP or at start-up, the settings from the environment, and grpcurl's TLS options.

#include <stdio.h>
#include <sys/wait.h>

#include <future>
#include <thread>

#include "tests/e2e/tls_support.h"

namespace walletd::testing {
namespace {

using ::grpc::StatusCode;
using ::testing::HasSubstr;
using ::testing::Not;

// The start of a PEM block's base64: a piece of a key that must never reach a log or a message.
std::string KeyBodySample(const std::string& pem) { return pem.substr(pem.find('\n') + 1, 40); }

class TlsTest : public TlsE2eTest {
 protected:
  static ::grpc::Status CreateWallet(const std::shared_ptr<::grpc::Channel>& channel,
                                     const std::string& request_id) {
    auto stub = wallet::v1::WalletService::NewStub(channel);
    wallet::v1::CreateWalletRequest request;
    request.set_request_id(request_id);
    request.set_currency("EUR");
    wallet::v1::CreateWalletResponse response;
    return stub->CreateWallet(Client(absl::Seconds(5)).get(), request, &response);
  }
  // Balance of `wallet_id`; with `wait_for_ready`, the call waits out reconnections (within
  // its 10 s) instead of failing on the first refused handshake.
  static ::grpc::Status Balance(const std::shared_ptr<::grpc::Channel>& channel,
                                const std::string& wallet_id, bool wait_for_ready = false) {
    auto stub = wallet::v1::WalletService::NewStub(channel);
    wallet::v1::BalanceRequest request;
    request.set_wallet_id(wallet_id);
    wallet::v1::BalanceResponse response;
    auto ctx = Client(absl::Seconds(wait_for_ready ? 10 : 5));
    ctx->set_wait_for_ready(wait_for_ready);
    return stub->Balance(ctx.get(), request, &response);
  }
  int64_t WalletsInDatabase() { return sql_->Int("SELECT count(*) FROM wallets"); }
  static int LinesWith(const WalletdProcess& process, const std::string& needle) {
    int n = 0;
    for (const std::string& line : process.Lines()) n += line.find(needle) != std::string::npos;
    return n;
  }
  // Waits until `needle` is in `count` lines of the log.
  static bool WaitForLines(const WalletdProcess& process, const std::string& needle, int count) {
    for (int i = 0; i < 500 && LinesWith(process, needle) < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return LinesWith(process, needle) >= count;
  }
  // walletd with `flags` (and `env`) exits with 2 without listening; its message line.
  std::string RefusedStart(const std::vector<std::string>& flags,
                           const std::vector<std::string>& env = {}) {
    auto process = StartTlsWalletd(flags, env);
    EXPECT_TRUE(process->address().empty()) << "walletd started";
    EXPECT_EQ(process->Wait(absl::Seconds(10)), 2);
    std::vector<std::string> lines = process->Lines();
    EXPECT_EQ(lines.size(), 1u) << "not one line";
    return lines.empty() ? "" : lines.front();
  }
};

TEST_F(TlsTest, AClientTrustingTheCaHandshakesAndCalls) {
  EXPECT_TRUE(walletd_->WaitForLine("\"msg\":\"listening\"", absl::Seconds(1)));
  EXPECT_EQ(LinesWith(*walletd_, "\"tls\":\"on\""), 1);
  const std::string wallet = OpenWallet(2500);  // CreateWallet and Deposit, over TLS.
  EXPECT_EQ(WireBalance(wallet), 2500);
  EXPECT_EQ(WalletsInDatabase(), 1);
}

TEST_F(TlsTest, APlaintextClientIsRefusedAndNothingReachesTheDatabase) {
  const ::grpc::Status status = CreateWallet(PlaintextChannel(walletd_->address()), "plain-1");
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(WalletsInDatabase(), 0);
  EXPECT_EQ(LinesWith(*walletd_, "\"msg\":\"call\""), 0);
}

TEST_F(TlsTest, AClientNotTrustingTheServersCaRefusesIt) {
  const ::grpc::Status status =
      CreateWallet(TlsChannel(walletd_->address(), pki_.foreign_ca.cert_pem()), "distrust-1");
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(WalletsInDatabase(), 0);
}

TEST_F(TlsTest, MutualTlsServesAClientCertificateFromTheCa) {
  auto mutual = StartTlsWalletd(ServerFlags(/*mutual=*/true));
  ASSERT_FALSE(mutual->address().empty());
  EXPECT_EQ(LinesWith(*mutual, "\"tls\":\"mutual\""), 1);
  const ::grpc::Status status =
      CreateWallet(TlsChannel(mutual->address(), pki_.ca.cert_pem(), &pki_.client), "mutual-1");
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(WalletsInDatabase(), 1);
}

TEST_F(TlsTest, MutualTlsRefusesAtTheHandshakeClientsWithoutAGoodCertificate) {
  auto mutual = StartTlsWalletd(ServerFlags(/*mutual=*/true));
  ASSERT_FALSE(mutual->address().empty());
  const std::string& ca = pki_.ca.cert_pem();
  const struct {
    const char* what;
    const KeyAndCert* client;
  } cases[] = {{"no certificate", nullptr},
               {"a certificate from another CA", &pki_.foreign_client},
               {"an expired certificate", &pki_.expired_client}};
  int n = 0;
  for (const auto& c : cases) {
    const ::grpc::Status status =
        CreateWallet(TlsChannel(mutual->address(), ca, c.client), "refused-" + std::to_string(++n));
    EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << c.what << ": "
                                                            << status.error_message();
  }
  EXPECT_EQ(WalletsInDatabase(), 0);
  EXPECT_EQ(LinesWith(*mutual, "\"msg\":\"call\""), 0) << "a refused client's call was handled";
  // The same server still serves a good client.
  EXPECT_TRUE(CreateWallet(TlsChannel(mutual->address(), ca, &pki_.client), "accepted").ok());
}

TEST_F(TlsTest, SighupRotatesTheCertificateWithoutDroppingConnectionsOrCalls) {
  const std::string a = OpenWallet(100), b = OpenWallet(0);
  auto established = TlsChannel(walletd_->address(), pki_.ca.cert_pem());
  ASSERT_TRUE(Balance(established, a).ok());
  auto trusts_next = TlsChannel(walletd_->address(), pki_.next_ca.cert_pem());
  EXPECT_EQ(Balance(trusts_next, a).error_code(), StatusCode::UNAVAILABLE);

  // A transfer on the established connection, held inside walletd on a row lock meanwhile.
  auto holder = LockRow(a);
  auto in_flight = std::async(std::launch::async, [&] {
    auto stub = wallet::v1::WalletService::NewStub(established);
    wallet::v1::TransferRequest request;
    request.set_request_id("across-reload");
    request.set_from_wallet_id(a);
    request.set_to_wallet_id(b);
    request.mutable_amount()->set_minor_units(40);
    request.mutable_amount()->set_currency("EUR");
    wallet::v1::TransferResponse response;
    return stub->Transfer(Client(absl::Seconds(20)).get(), request, &response);
  });
  ASSERT_TRUE(WaitForLockWaiter());

  pki_.Overwrite("server.pem", pki_.next_server.cert_pem);
  pki_.Overwrite("server.key", pki_.next_server.key_pem);
  walletd_->Signal(SIGHUP);
  ASSERT_TRUE(walletd_->WaitForLine("\"msg\":\"TLS files reloaded\"", absl::Seconds(5)));

  // New handshakes present the next certificate: the channel that refused it now connects, and a
  // new one trusting only the old CA is refused.
  EXPECT_TRUE(Balance(trusts_next, a, /*wait_for_ready=*/true).ok());
  EXPECT_EQ(Balance(TlsChannel(walletd_->address(), pki_.ca.cert_pem()), a).error_code(),
            StatusCode::UNAVAILABLE);
  // The call in flight completes once its lock frees, and the established connection serves on.
  holder->Exec("COMMIT");
  const ::grpc::Status transferred = in_flight.get();
  EXPECT_TRUE(transferred.ok()) << transferred.error_message();
  EXPECT_TRUE(Balance(established, b).ok());
  EXPECT_EQ(established->GetState(false), GRPC_CHANNEL_READY);
  EXPECT_EQ(WireBalance(b), 40);  // stub_: its connection, from before the reload, too.
}

TEST_F(TlsTest, BadFilesOnSighupKeepTheCertificateInUseAndAreLoggedWithoutKeys) {
  const std::string wallet = OpenWallet(0);
  // A key that is not the certificate's (as when the certificate's file is yet to be replaced).
  pki_.Overwrite("server.key", pki_.next_server.key_pem);
  walletd_->Signal(SIGHUP);
  ASSERT_TRUE(WaitForLines(*walletd_, "TLS files not reloaded", 1));
  // A certificate file cut short.
  pki_.Overwrite("server.key", pki_.server.key_pem);
  pki_.Overwrite("server.pem", pki_.server.cert_pem.substr(0, 200));
  walletd_->Signal(SIGHUP);
  ASSERT_TRUE(WaitForLines(*walletd_, "TLS files not reloaded", 2));

  std::vector<std::string> warnings;
  for (const std::string& line : walletd_->Lines()) {
    if (line.find("TLS files not reloaded") != std::string::npos) warnings.push_back(line);
    for (const KeyAndCert* pair : {&pki_.server, &pki_.next_server}) {
      EXPECT_THAT(line, Not(HasSubstr(KeyBodySample(pair->key_pem)))) << "key material logged";
    }
    EXPECT_THAT(line, Not(HasSubstr("PRIVATE KEY")));
  }
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], HasSubstr("\"level\":\"warn\""));
  EXPECT_THAT(warnings[0], HasSubstr(pki_.Path("server.key") + ": the key does not belong"));
  EXPECT_THAT(warnings[1], HasSubstr(pki_.Path("server.pem") + ": a certificate in it"));
  EXPECT_EQ(LinesWith(*walletd_, "\"msg\":\"TLS files reloaded\""), 0);

  // New clients still get the certificate from before.
  EXPECT_TRUE(Balance(TlsChannel(walletd_->address(), pki_.ca.cert_pem()), wallet).ok());
  EXPECT_EQ(Balance(TlsChannel(walletd_->address(), pki_.next_ca.cert_pem()), wallet).error_code(),
            StatusCode::UNAVAILABLE);
  // Mended files are taken at the next SIGHUP.
  pki_.Overwrite("server.pem", pki_.next_server.cert_pem);
  pki_.Overwrite("server.key", pki_.next_server.key_pem);
  walletd_->Signal(SIGHUP);
  ASSERT_TRUE(walletd_->WaitForLine("\"msg\":\"TLS files reloaded\"", absl::Seconds(5)));
  EXPECT_TRUE(Balance(TlsChannel(walletd_->address(), pki_.next_ca.cert_pem()), wallet).ok());
}

TEST_F(TlsTest, StartUpIsRefusedWithoutACertificateUnlessInsecure) {
  const std::string line = RefusedStart({});
  EXPECT_THAT(line, HasSubstr("walletd: no TLS certificate"));
  EXPECT_THAT(line, HasSubstr("--tls_cert and --tls_key"));
  EXPECT_THAT(line, HasSubstr("--insecure"));
  // --insecure alone serves plaintext; with a certificate too, TLS.
  auto plaintext = StartTlsWalletd({"--insecure"});
  ASSERT_FALSE(plaintext->address().empty());
  EXPECT_TRUE(CreateWallet(PlaintextChannel(plaintext->address()), "plain-ok").ok());
  auto both = StartTlsWalletd({"--insecure", "--tls_cert=" + pki_.Path("server.pem"),
                               "--tls_key=" + pki_.Path("server.key")});
  ASSERT_FALSE(both->address().empty());
  EXPECT_EQ(CreateWallet(PlaintextChannel(both->address()), "plain-no").error_code(),
            StatusCode::UNAVAILABLE);
  EXPECT_TRUE(CreateWallet(TlsChannel(both->address(), pki_.ca.cert_pem()), "tls-ok").ok());
}

TEST_F(TlsTest, StartUpIsRefusedWithIncompleteOrBadTlsSettings) {
  EXPECT_THAT(RefusedStart({"--tls_cert=" + pki_.Path("server.pem")}),
              HasSubstr("--tls_cert and --tls_key go together"));
  EXPECT_THAT(RefusedStart({"--insecure", "--tls_client_ca=" + pki_.Path("ca.pem")}),
              HasSubstr("--tls_client_ca needs --tls_cert and --tls_key"));
  EXPECT_THAT(RefusedStart({"--tls_cert=" + pki_.Path("server.pem"),
                            "--tls_key=" + pki_.Path("absent.key")}),
              HasSubstr("TLS key file " + pki_.Path("absent.key") + ": No such file or directory"));
  EXPECT_THAT(RefusedStart({"--tls_cert=" + pki_.Path("server.pem"), "--tls_key=" + pki_.dir()}),
              HasSubstr("TLS key file " + pki_.dir() + ": Is a directory"));
  const std::string mismatch = RefusedStart(
      {"--tls_cert=" + pki_.Path("server.pem"), "--tls_key=" + pki_.Path("next_server.key")});
  EXPECT_THAT(mismatch, HasSubstr(pki_.Path("next_server.key") + ": the key does not belong"));
  EXPECT_THAT(mismatch, Not(HasSubstr(KeyBodySample(pki_.next_server.key_pem))));
  std::vector<std::string> ca_is_a_key = ServerFlags();
  ca_is_a_key.push_back("--tls_client_ca=" + pki_.Path("client.key"));
  EXPECT_THAT(RefusedStart(ca_is_a_key),
              HasSubstr("TLS client CA file " + pki_.Path("client.key") +
                        ": holds no PEM certificate"));
}

TEST_F(TlsTest, TheCertificateFilesCanComeFromTheEnvironment) {
  auto from_env = StartTlsWalletd({}, {"WALLETD_TLS_CERT=" + pki_.Path("server.pem"),
                                       "WALLETD_TLS_KEY=" + pki_.Path("server.key")});
  ASSERT_FALSE(from_env->address().empty());
  EXPECT_TRUE(CreateWallet(TlsChannel(from_env->address(), pki_.ca.cert_pem()), "env-1").ok());
  EXPECT_EQ(CreateWallet(PlaintextChannel(from_env->address()), "env-2").error_code(),
            StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, TheCommandLineWinsOverTheEnvironment) {
  auto process = StartTlsWalletd(ServerFlags(), {"WALLETD_TLS_CERT=/nonexistent/cert.pem",
                                                 "WALLETD_TLS_KEY=/nonexistent/key.pem"});
  ASSERT_FALSE(process->address().empty());
  EXPECT_TRUE(CreateWallet(TlsChannel(process->address(), pki_.ca.cert_pem()), "cli-1").ok());
}

TEST_F(TlsTest, ABadEnvironmentValueIsNamedButNotShown) {
  const std::string line = RefusedStart(ServerFlags(), {"WALLETD_POOL_MAX=s3cret-not-a-number"});
  EXPECT_THAT(line, HasSubstr("WALLETD_POOL_MAX"));
  EXPECT_THAT(line, Not(HasSubstr("s3cret")));
  // A bad certificate path from the environment is named like one from a flag.
  EXPECT_THAT(RefusedStart({}, {"WALLETD_TLS_CERT=" + pki_.Path("server.pem"),
                                "WALLETD_TLS_KEY=" + pki_.Path("absent.key")}),
              HasSubstr("TLS key file " + pki_.Path("absent.key")));
}

// grpcurl_lite, like grpcurl: TLS unless -plaintext, -cacert to trust, -cert/-key to present.
class GrpcurlTlsTest : public TlsTest {
 protected:
  // Runs grpcurl_lite with `args`; its exit status and what it printed (stdout and stderr).
  static int Grpcurl(const std::string& args, std::string* output) {
    const std::string command = std::string(GRPCURL_LITE_BINARY) + " " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return -1;
    char buf[4096];
    output->clear();
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output->append(buf, n);
    const int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

TEST_F(GrpcurlTlsTest, ListsAndCallsOverTlsWithCacert) {
  const std::string cacert = "-cacert " + pki_.Path("ca.pem") + " ";
  std::string out;
  EXPECT_EQ(Grpcurl(cacert + walletd_->address() + " list", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("wallet.v1.WalletService\n"));
  const std::string token = std::string("-H 'authorization: Bearer ") + kTlsTestToken + "' ";
  EXPECT_EQ(Grpcurl(cacert + token + "-d '{\"request_id\": \"curl-1\", \"currency\": \"EUR\"}' " +
                        walletd_->address() + " wallet.v1.WalletService/CreateWallet",
                    &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("\"currency\": \"EUR\""));
  EXPECT_EQ(WalletsInDatabase(), 1);
  // The certificate names localhost too; -authority checks that name instead of the address's.
  EXPECT_EQ(Grpcurl(cacert + "-authority localhost " + walletd_->address() + " list", &out), 0)
      << out;
  EXPECT_NE(Grpcurl(cacert + "-authority elsewhere.example " + walletd_->address() + " list", &out),
            0);
  // Without -cacert the server's CA is not trusted; with -plaintext the handshake never happens.
  EXPECT_NE(Grpcurl(walletd_->address() + " list", &out), 0);
  EXPECT_NE(Grpcurl("-plaintext " + walletd_->address() + " list", &out), 0);
}

TEST_F(GrpcurlTlsTest, PresentsAClientCertificateWithCertAndKey) {
  auto mutual = StartTlsWalletd(ServerFlags(/*mutual=*/true));
  ASSERT_FALSE(mutual->address().empty());
  const std::string cacert = "-cacert " + pki_.Path("ca.pem") + " ";
  std::string out;
  EXPECT_EQ(Grpcurl(cacert + "-cert " + pki_.Path("client.pem") + " -key " +
                        pki_.Path("client.key") + " " + mutual->address() +
                        " grpc.health.v1.Health/Check",
                    &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("\"status\": \"SERVING\""));
  // Without a client certificate the handshake fails: reflection cannot even start (grpcurl
  // also exits with 1 when it cannot connect).
  EXPECT_EQ(Grpcurl(cacert + mutual->address() + " grpc.health.v1.Health/Check", &out), 1)
      << out;
  EXPECT_THAT(out, Not(HasSubstr("SERVING")));
  // -cert without -key is a usage error.
  EXPECT_EQ(Grpcurl(cacert + "-cert " + pki_.Path("client.pem") + " " + mutual->address() +
                        " list",
                    &out),
            2);
}

}  // namespace
}  // namespace walletd::testing
