// The TLS files as walletd reads them: what passes, what is refused and how the refusal reads,
// and a reload that keeps the previous material when the new files are bad.

#include "adapters/grpc/tls.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_certs.h"

namespace walletd::grpc_adapter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using walletd::testing::CertUse;
using walletd::testing::KeyAndCert;
using walletd::testing::TestCa;
using walletd::testing::WriteFileAtomically;

// The base64 body of a PEM block's first line: a piece of the key that must never be echoed.
std::string KeyBodySample(const std::string& pem) {
  const size_t start = pem.find('\n') + 1;
  return pem.substr(start, 40);
}

class TlsFilesTest : public ::testing::Test {
 protected:
  TlsFilesTest() : ca_("unit test CA"), other_ca_("other unit test CA") {
    char dir[] = "/tmp/walletd-tls-unit.XXXXXX";
    dir_ = mkdtemp(dir);
    server_ = ca_.Issue("server", CertUse::kServer);
    files_.cert_path = Write("server.pem", server_.cert_pem);
    files_.key_path = Write("server.key", server_.key_pem);
  }
  ~TlsFilesTest() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    EXPECT_TRUE(WriteFileAtomically(path, content));
    return path;
  }

  TestCa ca_;
  TestCa other_ca_;
  std::string dir_;
  KeyAndCert server_;
  TlsFiles files_;
};

TEST_F(TlsFilesTest, AValidCertificateAndItsKeyAreRead) {
  absl::StatusOr<TlsMaterial> material = ReadTlsFiles(files_);
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_EQ(material->cert_pem, server_.cert_pem);
  EXPECT_EQ(material->key_pem, server_.key_pem);
  EXPECT_TRUE(material->client_ca_pem.empty());
  // Issued for 24 hours from now.
  EXPECT_GT(material->cert_not_after, absl::Now() + absl::Hours(23));
  EXPECT_LT(material->cert_not_after, absl::Now() + absl::Hours(25));
}

TEST_F(TlsFilesTest, AChainWithTheCaAfterTheLeafAndAClientCaBundleAreRead) {
  files_.cert_path = Write("chain.pem", server_.cert_pem + ca_.cert_pem());
  files_.client_ca_path = Write("clients.pem", ca_.cert_pem() + other_ca_.cert_pem());
  absl::StatusOr<TlsMaterial> material = ReadTlsFiles(files_);
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_EQ(material->client_ca_pem, ca_.cert_pem() + other_ca_.cert_pem());
}

TEST_F(TlsFilesTest, AMissingFileIsRefusedNamingItAndWhy) {
  files_.key_path = dir_ + "/absent.key";
  absl::Status status = ReadTlsFiles(files_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("TLS key file " + dir_ + "/absent.key"));
  EXPECT_THAT(status.message(), HasSubstr("No such file or directory"));
}

TEST_F(TlsFilesTest, AnEmptyOrOversizeFileIsRefused) {
  files_.cert_path = Write("empty.pem", "");
  EXPECT_THAT(ReadTlsFiles(files_).status().message(), HasSubstr("empty.pem: empty"));
  files_.cert_path = Write("huge.pem", std::string(kTlsFileBytesMax + 1, 'x'));
  EXPECT_THAT(ReadTlsFiles(files_).status().message(), HasSubstr("huge.pem: larger than"));
}

TEST_F(TlsFilesTest, ACertificateFileWithoutACertificateIsRefused) {
  files_.cert_path = Write("not-a-cert.pem", server_.key_pem);
  absl::Status status = ReadTlsFiles(files_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("TLS certificate file " + files_.cert_path +
                                          ": holds no PEM certificate"));
  EXPECT_THAT(status.message(), Not(HasSubstr(KeyBodySample(server_.key_pem))));
}

TEST_F(TlsFilesTest, ACorruptCertificateBlockIsRefused) {
  std::string corrupt = server_.cert_pem;
  corrupt[corrupt.find('\n') + 5] = '*';  // Not base64.
  files_.cert_path = Write("corrupt.pem", corrupt);
  EXPECT_THAT(ReadTlsFiles(files_).status().message(),
              HasSubstr("corrupt.pem: a certificate in it does not parse"));
  // Cut short after a good leaf: the chain's second block is broken.
  files_.cert_path = Write("cut.pem", server_.cert_pem + ca_.cert_pem().substr(0, 100));
  EXPECT_THAT(ReadTlsFiles(files_).status().message(), HasSubstr("cut.pem: a certificate"));
}

TEST_F(TlsFilesTest, AKeyOfAnotherCertificateIsRefusedWithoutShowingIt) {
  const KeyAndCert other = ca_.Issue("other", CertUse::kServer);
  files_.key_path = Write("other.key", other.key_pem);
  absl::Status status = ReadTlsFiles(files_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("other.key: the key does not belong to the first certificate of " +
                        files_.cert_path));
  EXPECT_THAT(status.message(), Not(HasSubstr(KeyBodySample(other.key_pem))));
}

TEST_F(TlsFilesTest, AnEncryptedOrGarbledKeyIsRefused) {
  files_.key_path =
      Write("encrypted.key", walletd::testing::EncryptKeyPem(server_.key_pem, "secret"));
  EXPECT_THAT(ReadTlsFiles(files_).status().message(),
              HasSubstr("encrypted.key: holds no unencrypted PEM private key"));
  files_.key_path = Write("cert-as-key.pem", server_.cert_pem);
  EXPECT_THAT(ReadTlsFiles(files_).status().message(),
              HasSubstr("cert-as-key.pem: holds no unencrypted PEM private key"));
}

TEST_F(TlsFilesTest, AClientCaFileIsCheckedOnlyWhenGiven) {
  files_.client_ca_path = Write("clients.pem", "not a certificate\n");
  EXPECT_THAT(ReadTlsFiles(files_).status().message(),
              HasSubstr("TLS client CA file " + files_.client_ca_path +
                        ": holds no PEM certificate"));
  files_.client_ca_path.clear();
  EXPECT_TRUE(ReadTlsFiles(files_).ok());
}

TEST_F(TlsFilesTest, AReloadTakesGoodFilesAndKeepsThePreviousOnesOnBadFiles) {
  absl::StatusOr<std::shared_ptr<TlsServerCredentials>> creds = TlsServerCredentials::Load(files_);
  ASSERT_TRUE(creds.ok()) << creds.status();
  TlsServerCredentials& tls = **creds;
  EXPECT_EQ(tls.Current().cert_pem, server_.cert_pem);

  const KeyAndCert next = other_ca_.Issue("next server", CertUse::kServer);
  Write("server.pem", next.cert_pem);
  Write("server.key", next.key_pem);
  ASSERT_TRUE(tls.Reload().ok());
  EXPECT_EQ(tls.Current().cert_pem, next.cert_pem);
  EXPECT_EQ(tls.Current().key_pem, next.key_pem);

  // A new certificate whose key has not been written yet: refused, the last good pair stays.
  Write("server.pem", server_.cert_pem);
  absl::Status refused = tls.Reload();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("does not belong"));
  EXPECT_EQ(tls.Current().cert_pem, next.cert_pem);
  EXPECT_EQ(tls.Current().key_pem, next.key_pem);
}

}  // namespace
}  // namespace walletd::grpc_adapter
