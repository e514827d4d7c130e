#pragma once
// TLS for the end-to-end tests: the certificates a test needs, written to files of its own, and
// walletd started with them (without --insecure, as in production), called through TLS channels.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/e2e_fixture.h"
#include "tests/support/test_certs.h"

namespace walletd::testing {

// Made fresh for each test: a CA with a server certificate (SAN IP:127.0.0.1, DNS:localhost) and
// client certificates, valid and expired; a foreign CA with a client certificate of its own; and
// the next CA with the server certificate a rotation moves to. Each key and certificate is also
// a file in dir(): <name>.key and <name>.pem, the CAs' certificates as <ca>.pem.
class TestPki {
 public:
  TestPki();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  std::string Path(const std::string& file) const { return dir_ + "/" + file; }
  // Writes `content` over dir()/file (atomically: a reader sees the old or the new file).
  void Overwrite(const std::string& file, const std::string& content) const;

  TestCa ca{"walletd test CA"};
  TestCa foreign_ca{"foreign test CA"};
  TestCa next_ca{"next walletd test CA"};
  KeyAndCert server;          // server.pem, server.key; from `ca`.
  KeyAndCert client;          // client.pem, client.key; from `ca`.
  KeyAndCert expired_client;  // expired_client.*; from `ca`, expired yesterday.
  KeyAndCert foreign_client;  // foreign_client.*; from `foreign_ca`.
  KeyAndCert next_server;     // next_server.*; from `next_ca`.

 private:
  void Write(const std::string& file, const std::string& content) const;
  std::string dir_;
};

// The platform token (every scope, every tenant) of the tokens file TestPki writes (tokens), and
// its SHA-256 as that file holds it.
inline constexpr char kTlsTestToken[] = "tls-e2e-platform-token-0123456789abcdef";
inline constexpr char kTlsTestTokenSha256[] =
    "86407158de20fc570e29dcc0539eb1f980fd57eb28d1433b708893a2efe9e9c5";

// A channel of its own (no connection shared with other channels) to `address` over TLS,
// trusting `ca_pem` only, presenting `client` when given, and sending kTlsTestToken with every
// call as a client would: gRPC's access-token call credentials (`authorization: Bearer ...`). Reconnects within 100-200 ms after
// a failed handshake, so a test need not wait out gRPC's default backoff.
std::shared_ptr<::grpc::Channel> TlsChannel(const std::string& address, const std::string& ca_pem,
                                            const KeyAndCert* client = nullptr);
// The same in plaintext.
std::shared_ptr<::grpc::Channel> PlaintextChannel(const std::string& address);

// E2eTest whose walletd serves TLS with the test's certificates; stub_ calls it trusting pki_.ca.
class TlsE2eTest : public E2eTest {
 protected:
  void SetUp() override;

  // walletd on this test's schema without --insecure, with `flags` (--tls_* among them) and
  // `env` ("NAME=value") added to the environment. It authenticates callers with the tokens file
  // of pki_ (kTlsTestToken), as in production, unless `flags` has --insecure.
  std::unique_ptr<WalletdProcess> StartTlsWalletd(const std::vector<std::string>& flags,
                                                  const std::vector<std::string>& env = {});
  // The flags of a server with pki_'s server certificate (and client CA, when `mutual`).
  std::vector<std::string> ServerFlags(bool mutual = false) const;

  TestPki pki_;
};

}  // namespace walletd::testing
