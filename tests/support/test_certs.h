#pragma once
// Certificates made at test time with OpenSSL (no key is ever committed): a CA, and leaf
// certificates it signs for servers (SAN IP:127.0.0.1 and DNS:localhost) and clients, valid or
// expired. EC P-256 keys, PEM text.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"

namespace walletd::testing {

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

enum class CertUse { kServer, kClient };

class TestCa {
 public:
  explicit TestCa(const std::string& common_name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_pem() const { return self_.cert_pem; }
  // A leaf certificate this CA signs, valid from `valid_from` to `valid_until` (both relative to
  // now: negative offsets make an expired certificate).
  KeyAndCert Issue(const std::string& common_name, CertUse use,
                   absl::Duration valid_from = absl::Hours(-1),
                   absl::Duration valid_until = absl::Hours(24)) const;

 private:
  struct Key;
  std::unique_ptr<Key> key_;
  KeyAndCert self_;
};

// `key_pem` encrypted with `passphrase` (AES-256-CBC), as a PEM private key.
std::string EncryptKeyPem(const std::string& key_pem, const std::string& passphrase);

// Writes `content` to `path` through a temporary file and a rename, so a reader sees the old
// file or the new one whole. False on error.
bool WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace walletd::testing
