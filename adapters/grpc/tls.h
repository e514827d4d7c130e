#pragma once
// TLS for walletd's gRPC port: the certificate files, checked with OpenSSL before gRPC sees them,
// and server credentials whose certificates are replaced on demand (SIGHUP) without a restart:
// handshakes from then on use the new ones, established connections and their calls go on.

#include <grpc/grpc_security.h>
#include <grpcpp/security/server_credentials.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace walletd::grpc_adapter {

// A TLS file larger than this is refused: a certificate chain or CA bundle is a few kB, so
// anything bigger is the wrong file.
inline constexpr size_t kTlsFileBytesMax = 1 << 20;

// Where the server's TLS material lives (the --tls_* flags); empty paths mean none.
struct TlsFiles {
  std::string cert_path;       // PEM certificate chain, the server's own certificate first.
  std::string key_path;        // PEM private key of that certificate, unencrypted.
  std::string client_ca_path;  // PEM CA certificates; when set, clients must present a
                               // certificate signed by one of them (mutual TLS).

  bool enabled() const { return !cert_path.empty(); }
  bool mutual() const { return !client_ca_path.empty(); }
};

// The files' contents, checked.
struct TlsMaterial {
  std::string cert_pem;
  std::string key_pem;
  std::string client_ca_pem;    // Empty without mutual TLS.
  absl::Time cert_not_after;    // When the server's own certificate expires.
};

// The PEM texts checked: the chain holds at least one certificate and every certificate block in
// it parses, the key is an unencrypted PEM private key and belongs to the first certificate, the
// CA bundle (when `files.mutual()`) holds at least one certificate. INVALID_ARGUMENT names the
// flag and file (taken from `files`) and what is wrong, never the content.
absl::StatusOr<TlsMaterial> CheckTlsMaterial(const TlsFiles& files, std::string cert_pem,
                                             std::string key_pem, std::string client_ca_pem);

// Reads the files named in `files` (each at most kTlsFileBytesMax) and checks them as
// CheckTlsMaterial does; an unreadable file is INVALID_ARGUMENT naming it and the system's reason.
absl::StatusOr<TlsMaterial> ReadTlsFiles(const TlsFiles& files);

// gRPC server credentials serving the material read from a TlsFiles, replaceable while serving.
// Built on gRPC's certificate config fetcher: on every new connection gRPC asks whether the
// material changed, and gets it again only after a Reload. Thread-safe. Must outlive the servers
// it was added to (gRPC calls back into it for every handshake until the server is destroyed).
class TlsServerCredentials final : public ::grpc::ServerCredentials {
 public:
  // Reads and checks the files (ReadTlsFiles); requires files.enabled().
  static absl::StatusOr<std::shared_ptr<TlsServerCredentials>> Load(const TlsFiles& files);
  ~TlsServerCredentials() override;

  // Re-reads the files. When they check out, handshakes from now on use them; connections
  // already established keep theirs. Otherwise nothing changes and the status says why
  // (INVALID_ARGUMENT, as ReadTlsFiles).
  absl::Status Reload();
  // A copy of the material handshakes use now.
  TlsMaterial Current() const;
  const TlsFiles& files() const { return files_; }

  // walletd authenticates calls in its service, not in gRPC's metadata processor: calling this
  // is a programmer error (as on gRPC's own insecure credentials).
  void SetAuthMetadataProcessor(
      const std::shared_ptr<::grpc::AuthMetadataProcessor>& processor) override;

 private:
  // One per listening port: gRPC creates one security connector per port, each of which must
  // be handed the material on its first handshake and after each reload.
  struct Port {
    TlsServerCredentials* owner;
    uint64_t generation_served = 0;  // Guarded by owner->mu_.
  };

  TlsServerCredentials(TlsFiles files, TlsMaterial material);
  int AddPortToServer(const std::string& addr, grpc_server* server) override;
  // gRPC's grpc_ssl_server_certificate_config_callback, called on every new connection.
  static grpc_ssl_certificate_config_reload_status Fetch(
      void* port, grpc_ssl_server_certificate_config** config);

  const TlsFiles files_;
  mutable absl::Mutex mu_;
  TlsMaterial material_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;  // Bumped by each successful Reload.
  std::vector<std::unique_ptr<Port>> ports_;      // Added before the server starts.
};

}  // namespace walletd::grpc_adapter
