#include "tests/e2e/tls_support.h"

#include <algorithm>

#include <stdlib.h>

#include <filesystem>

#include "gtest/gtest.h"

namespace walletd::testing {

TestPki::TestPki() {
  char dir[] = "/tmp/walletd-tls-e2e.XXXXXX";
  dir_ = mkdtemp(dir);
  server = ca.Issue("walletd", CertUse::kServer);
  client = ca.Issue("good client", CertUse::kClient);
  expired_client = ca.Issue("expired client", CertUse::kClient, absl::Hours(-48), absl::Hours(-24));
  foreign_client = foreign_ca.Issue("foreign client", CertUse::kClient);
  next_server = next_ca.Issue("walletd, next", CertUse::kServer);
  Write("tokens", std::string(kTlsTestTokenSha256) + " wallets:read,wallets:write * tls-e2e\n");
  Write("ca.pem", ca.cert_pem());
  Write("foreign_ca.pem", foreign_ca.cert_pem());
  Write("next_ca.pem", next_ca.cert_pem());
  for (const auto& [name, pair] : {std::pair{"server", &server}, {"client", &client},
                                   {"expired_client", &expired_client},
                                   {"foreign_client", &foreign_client},
                                   {"next_server", &next_server}}) {
    Write(std::string(name) + ".pem", pair->cert_pem);
    Write(std::string(name) + ".key", pair->key_pem);
  }
}

TestPki::~TestPki() { std::filesystem::remove_all(dir_); }

void TestPki::Write(const std::string& file, const std::string& content) const {
  ASSERT_TRUE(WriteFileAtomically(Path(file), content)) << Path(file);
}

void TestPki::Overwrite(const std::string& file, const std::string& content) const {
  Write(file, content);
}

namespace {

::grpc::ChannelArguments OwnChannelArgs() {
  ::grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return args;
}

}  // namespace

std::shared_ptr<::grpc::Channel> TlsChannel(const std::string& address, const std::string& ca_pem,
                                            const KeyAndCert* client) {
  ::grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  if (client != nullptr) {
    options.pem_private_key = client->key_pem;
    options.pem_cert_chain = client->cert_pem;
  }
  return ::grpc::CreateCustomChannel(
      address,
      ::grpc::CompositeChannelCredentials(::grpc::SslCredentials(options),
                                          ::grpc::AccessTokenCredentials(kTlsTestToken)),
      OwnChannelArgs());
}

std::shared_ptr<::grpc::Channel> PlaintextChannel(const std::string& address) {
  return ::grpc::CreateCustomChannel(address, ::grpc::InsecureChannelCredentials(),
                                     OwnChannelArgs());
}

void TlsE2eTest::SetUp() {
  PgTest::SetUp();  // Not E2eTest's: its walletd would be a plaintext one.
  if (HasFatalFailure()) return;
  walletd_ = StartTlsWalletd(ServerFlags());
  ASSERT_FALSE(walletd_->address().empty()) << "walletd did not start";
  stub_ = wallet::v1::WalletService::NewStub(TlsChannel(walletd_->address(), pki_.ca.cert_pem()));
}

std::unique_ptr<WalletdProcess> TlsE2eTest::StartTlsWalletd(const std::vector<std::string>& flags,
                                                            const std::vector<std::string>& env) {
  std::vector<std::string> args = {"--dsn=" + dsn_, "--listen=127.0.0.1:0", "--pool_min=1",
                                   "--pool_max=4", "--shutdown_grace_ms=5000"};
  args.insert(args.end(), flags.begin(), flags.end());
  if (std::find(flags.begin(), flags.end(), "--insecure") == flags.end()) {
    args.push_back("--tokens_file=" + pki_.Path("tokens"));
  }
  return WalletdProcess::Start(WALLETD_BINARY, args, absl::Seconds(30), env);
}

std::vector<std::string> TlsE2eTest::ServerFlags(bool mutual) const {
  std::vector<std::string> flags = {"--tls_cert=" + pki_.Path("server.pem"),
                                    "--tls_key=" + pki_.Path("server.key")};
  if (mutual) flags.push_back("--tls_client_ca=" + pki_.Path("ca.pem"));
  return flags;
}

}  // namespace walletd::testing
