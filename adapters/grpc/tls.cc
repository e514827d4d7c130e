#include "adapters/grpc/tls.h"

#include <grpc/grpc.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "domain/status_macros.h"

namespace walletd::grpc_adapter {
namespace {

// Named as an operator knows them; the flags that set them are the composition root's.
constexpr char kCertLabel[] = "TLS certificate file";
constexpr char kKeyLabel[] = "TLS key file";
constexpr char kClientCaLabel[] = "TLS client CA file";

absl::Status Invalid(const char* label, const std::string& path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(label, " ", path, ": ", why));
}

absl::StatusOr<std::string> ReadFile(const char* label, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Invalid(label, path, std::strerror(errno));
  std::string content;
  char buf[16384];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0 && content.size() <= kTlsFileBytesMax) {
    content.append(buf, n);
  }
  const int read_errno = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (read_errno != 0) return Invalid(label, path, std::strerror(read_errno));
  if (content.size() > kTlsFileBytesMax) {
    return Invalid(label, path, absl::StrCat("larger than ", kTlsFileBytesMax, " bytes"));
  }
  if (content.empty()) return Invalid(label, path, "empty");
  return content;
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate block in `pem`, in order. False when a block does not parse; running out of
// blocks is the normal end, which OpenSSL reports as a "no start line" error.
bool ParseCertificates(const std::string& pem, std::vector<X509Ptr>* certs) {
  Bio bio = MemoryBio(pem);
  ERR_clear_error();
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs->emplace_back(cert);
  }
  const unsigned long error = ERR_peek_last_error();
  const bool clean_end =
      ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  return clean_end;
}

// An encrypted key would make OpenSSL prompt on the terminal for a passphrase: refuse instead.
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::Time NotAfter(X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return absl::InfinitePast();
  return absl::FromTimeT(timegm(&tm));
}

}  // namespace

absl::StatusOr<TlsMaterial> CheckTlsMaterial(const TlsFiles& files, std::string cert_pem,
                                             std::string key_pem, std::string client_ca_pem) {
  std::vector<X509Ptr> chain;
  if (!ParseCertificates(cert_pem, &chain)) {
    return Invalid(kCertLabel, files.cert_path, "a certificate in it does not parse");
  }
  if (chain.empty()) return Invalid(kCertLabel, files.cert_path, "holds no PEM certificate");
  Bio key_bio = MemoryBio(key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return Invalid(kKeyLabel, files.key_path, "holds no unencrypted PEM private key");
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return Invalid(kKeyLabel, files.key_path,
                   absl::StrCat("the key does not belong to the first certificate of ",
                                files.cert_path));
  }
  if (files.mutual()) {
    std::vector<X509Ptr> cas;
    if (!ParseCertificates(client_ca_pem, &cas)) {
      return Invalid(kClientCaLabel, files.client_ca_path, "a certificate in it does not parse");
    }
    if (cas.empty()) {
      return Invalid(kClientCaLabel, files.client_ca_path, "holds no PEM certificate");
    }
  } else {
    client_ca_pem.clear();
  }
  TlsMaterial material;
  material.cert_not_after = NotAfter(chain.front().get());
  material.cert_pem = std::move(cert_pem);
  material.key_pem = std::move(key_pem);
  material.client_ca_pem = std::move(client_ca_pem);
  return material;
}

absl::StatusOr<TlsMaterial> ReadTlsFiles(const TlsFiles& files) {
  ASSIGN_OR_RETURN(std::string cert, ReadFile(kCertLabel, files.cert_path));
  ASSIGN_OR_RETURN(std::string key, ReadFile(kKeyLabel, files.key_path));
  std::string client_ca;
  if (files.mutual()) {
    ASSIGN_OR_RETURN(client_ca, ReadFile(kClientCaLabel, files.client_ca_path));
  }
  return CheckTlsMaterial(files, std::move(cert), std::move(key), std::move(client_ca));
}

absl::StatusOr<std::shared_ptr<TlsServerCredentials>> TlsServerCredentials::Load(
    const TlsFiles& files) {
  CHECK(files.enabled());
  ASSIGN_OR_RETURN(TlsMaterial material, ReadTlsFiles(files));
  return std::shared_ptr<TlsServerCredentials>(
      new TlsServerCredentials(files, std::move(material)));
}

TlsServerCredentials::TlsServerCredentials(TlsFiles files, TlsMaterial material)
    : files_(std::move(files)), material_(std::move(material)) {}

TlsServerCredentials::~TlsServerCredentials() = default;

absl::Status TlsServerCredentials::Reload() {
  ASSIGN_OR_RETURN(TlsMaterial material, ReadTlsFiles(files_));
  absl::MutexLock lock(&mu_);
  material_ = std::move(material);
  ++generation_;
  return absl::OkStatus();
}

TlsMaterial TlsServerCredentials::Current() const {
  absl::MutexLock lock(&mu_);
  return material_;
}

void TlsServerCredentials::SetAuthMetadataProcessor(
    const std::shared_ptr<::grpc::AuthMetadataProcessor>& processor) {
  CHECK(processor == nullptr);
}

int TlsServerCredentials::AddPortToServer(const std::string& addr, grpc_server* server) {
  auto port = std::make_unique<Port>();
  port->owner = this;
  const grpc_ssl_client_certificate_request_type request =
      files_.mutual() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                      : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  // The credentials take the options; the server takes a reference of its own to them.
  grpc_server_credentials* creds = grpc_ssl_server_credentials_create_with_options(
      grpc_ssl_server_credentials_create_options_using_config_fetcher(request, &Fetch,
                                                                      port.get()));
  const int bound = grpc_server_add_http2_port(server, addr.c_str(), creds);
  grpc_server_credentials_release(creds);
  ports_.push_back(std::move(port));
  return bound;
}

grpc_ssl_certificate_config_reload_status TlsServerCredentials::Fetch(
    void* user_data, grpc_ssl_server_certificate_config** config) {
  Port& port = *static_cast<Port*>(user_data);
  TlsServerCredentials& self = *port.owner;
  absl::MutexLock lock(&self.mu_);
  if (port.generation_served == self.generation_) {
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  }
  // gRPC copies the strings. The material was checked, so gRPC's own load does not fail (were it
  // to, gRPC would log it and keep the previous material).
  const TlsMaterial& m = self.material_;
  grpc_ssl_pem_key_cert_pair pair{m.key_pem.c_str(), m.cert_pem.c_str()};
  // gRPC 1.51 aborts on a fetched config without client roots, and loads them even when it asks
  // clients for no certificate. Without mutual TLS they are never used: the server's own chain
  // stands in, as certificates that are sure to parse.
  const std::string& client_roots = self.files_.mutual() ? m.client_ca_pem : m.cert_pem;
  *config = grpc_ssl_server_certificate_config_create(client_roots.c_str(), &pair, 1);
  port.generation_served = self.generation_;
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

}  // namespace walletd::grpc_adapter
