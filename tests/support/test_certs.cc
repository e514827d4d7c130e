#include "tests/support/test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace walletd::testing {
namespace {

// A failure here is the test's own machinery breaking, not a result: say so loudly.
void Require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificates: ") + what);
}

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Require(key != nullptr, "EC key generation failed");
  return key;
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  Require(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "writing a key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  Require(PEM_write_bio_X509(bio, cert) == 1, "writing a certificate");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Require(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, value);
  X509_EXTENSION_free(ext);
}

// An unsigned certificate for `key` named `common_name`, issued by `issuer` (itself when null: a
// self-signed CA).
X509* NewCert(EVP_PKEY* key, const std::string& common_name, X509* issuer,
              absl::Duration valid_from, absl::Duration valid_until) {
  static std::atomic<long> serial{1000};
  X509* cert = X509_new();
  X509_set_version(cert, 2);  // v3, for the extensions.
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial.fetch_add(1));
  X509_gmtime_adj(X509_getm_notBefore(cert), absl::ToInt64Seconds(valid_from));
  X509_gmtime_adj(X509_getm_notAfter(cert), absl::ToInt64Seconds(valid_until));
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  return cert;
}

void Sign(X509* cert, EVP_PKEY* issuer_key) {
  Require(X509_sign(cert, issuer_key, EVP_sha256()) > 0, "signing");
}

}  // namespace

struct TestCa::Key {
  ~Key() {
    X509_free(cert);
    EVP_PKEY_free(pkey);
  }
  EVP_PKEY* pkey = nullptr;
  X509* cert = nullptr;
};

TestCa::TestCa(const std::string& common_name) : key_(std::make_unique<Key>()) {
  key_->pkey = NewKey();
  key_->cert = NewCert(key_->pkey, common_name, nullptr, absl::Hours(-1),
                       absl::Hours(24 * 30));
  AddExtension(key_->cert, key_->cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(key_->cert, key_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(key_->cert, key_->cert, NID_subject_key_identifier, "hash");
  Sign(key_->cert, key_->pkey);
  self_.key_pem = KeyPem(key_->pkey);
  self_.cert_pem = CertPem(key_->cert);
}

TestCa::~TestCa() = default;

KeyAndCert TestCa::Issue(const std::string& common_name, CertUse use, absl::Duration valid_from,
                         absl::Duration valid_until) const {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(key, common_name, key_->cert, valid_from, valid_until);
  AddExtension(cert, key_->cert, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert, key_->cert, NID_key_usage, "critical,digitalSignature,keyAgreement");
  AddExtension(cert, key_->cert, NID_authority_key_identifier, "keyid:always");
  if (use == CertUse::kServer) {
    AddExtension(cert, key_->cert, NID_ext_key_usage, "serverAuth");
    AddExtension(cert, key_->cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  } else {
    AddExtension(cert, key_->cert, NID_ext_key_usage, "clientAuth");
  }
  Sign(cert, key_->pkey);
  KeyAndCert out{KeyPem(key), CertPem(cert)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string EncryptKeyPem(const std::string& key_pem, const std::string& passphrase) {
  BIO* in = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  Require(key != nullptr, "reading a key");
  BIO* out = BIO_new(BIO_s_mem());
  Require(PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), passphrase.data(),
                                        static_cast<int>(passphrase.size()), nullptr,
                                        nullptr) == 1,
          "encrypting a key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(out);
  EVP_PKEY_free(key);
  return pem;
}

bool WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".new";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

}  // namespace walletd::testing
