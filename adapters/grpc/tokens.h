#pragma once
// Bearer tokens: the API keys walletd accepts, kept hashed in a tokens file, and the
// authentication of a call from its `authorization` metadata. Only the SHA-256 of a token is ever
// stored or compared; the token itself is never kept, logged or echoed.
//
// The tokens file has one token per line, fields separated by blanks:
//   <sha256 of the token, 64 lowercase hex> <scopes, comma-separated> <tenant, or *> <name>
// e.g. `9f86d0...0f00a08 wallets:read,wallets:write shop-1 shop-1-backend`. Blank lines and lines
// starting with # are ignored. `printf %s "$TOKEN" | sha256sum` prints a token's hash.

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "domain/caller.h"

namespace walletd::grpc_adapter {

// A presented token longer than this is refused before it is hashed.
inline constexpr size_t kTokenBytesMax = 1024;
// A tokens file is read whole; one beyond this is refused (a wrong path, not a tokens file).
inline constexpr size_t kTokensFileBytesMax = 1 << 20;
// Names go into every call's log line: short, and of characters JSON needs no escape for.
inline constexpr size_t kTokenNameLengthMax = 64;

// The SHA-256 of `text` in lowercase hex, as sha256sum prints it.
std::string Sha256Hex(std::string_view text);

// An immutable set of tokens, parsed from a tokens file.
class TokenSet {
 public:
  // INVALID_ARGUMENT naming the line number and what is wrong with it (never the line's text: a
  // token pasted by mistake must not reach the log): a hash that is not 64 lowercase hex digits,
  // an unknown or repeated scope, a tenant that is neither valid nor *, a bad name, a field
  // missing or too many, a hash or a name given twice, or no token at all.
  static absl::StatusOr<std::shared_ptr<const TokenSet>> Parse(std::string_view text);
  // Reads `path` and parses it; INVALID_ARGUMENT when it cannot be read or is malformed.
  static absl::StatusOr<std::shared_ptr<const TokenSet>> Load(const std::string& path);

  // The caller presenting `token`, or nullptr. The token's hash is compared with every entry's in
  // constant time, with no early exit on a match.
  std::shared_ptr<const Caller> Find(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<unsigned char, 32> hash;
    std::shared_ptr<const Caller> caller;
  };
  std::vector<Entry> entries_;
};

// Authenticates calls. Thread-safe: Authenticate() runs on every call thread while Reload() may
// swap the token set; a call keeps the Caller it got (shared ownership) whatever reloads follow.
class Authenticator {
 public:
  // Every call is Caller::Unrestricted(name): walletd started with --insecure and no tokens file.
  static std::unique_ptr<Authenticator> Open(std::string name);
  // Calls must present a token of the file at `path`; its errors are TokenSet::Load's.
  static absl::StatusOr<std::unique_ptr<Authenticator>> FromFile(std::string path);

  // Re-reads the tokens file and swaps the set in; on error the previous set stays and the error
  // says why. Returns how many tokens the set now holds. Does nothing without a file.
  absl::StatusOr<size_t> Reload();

  // The caller of a call whose `authorization` metadata has the values `authorization`: exactly
  // one value, `Bearer <token>` (the scheme in any case), with a known token. Anything else is
  // UNAUTHENTICATED/UNAUTHENTICATED with one and the same message, which never says what was
  // wrong nor repeats the value.
  absl::StatusOr<std::shared_ptr<const Caller>> Authenticate(
      absl::Span<const std::string_view> authorization) const;

 private:
  Authenticator() = default;

  std::string path_;
  std::shared_ptr<const Caller> open_;  // Set for an Open() authenticator only.
  mutable std::mutex mu_;
  std::shared_ptr<const TokenSet> tokens_;  // Guarded by mu_; the snapshot itself is immutable.
};

}  // namespace walletd::grpc_adapter
