#include "adapters/grpc/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "domain/errors.h"
#include "domain/ids.h"
#include "domain/text.h"

namespace walletd::grpc_adapter {
namespace {

using Hash = std::array<unsigned char, 32>;

Hash Sha256(std::string_view text) {
  Hash hash{};
  unsigned int length = 0;
  // EVP_sha256 cannot fail on a sane OpenSSL; a failure would leave a hash no file line matches.
  if (EVP_Digest(text.data(), text.size(), hash.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != hash.size()) {
    hash.fill(0);
  }
  return hash;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // Capitals too: one spelling per hash, as sha256sum prints it.
}

bool ParseHash(std::string_view hex, Hash* out) {
  if (hex.size() != 2 * out->size()) return false;
  for (size_t i = 0; i < out->size(); ++i) {
    const int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

bool ParseScopes(std::string_view text, uint32_t* scopes) {
  *scopes = 0;
  for (absl::string_view name : absl::StrSplit(AsAbsl(text), ',')) {
    Scope scope;
    if (AsStd(name) == ScopeName(Scope::kRead)) scope = Scope::kRead;
    else if (AsStd(name) == ScopeName(Scope::kWrite)) scope = Scope::kWrite;
    else return false;
    const auto bit = static_cast<uint32_t>(scope);
    if ((*scopes & bit) != 0) return false;
    *scopes |= bit;
  }
  return *scopes != 0;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kTokenNameLengthMax) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' &&
        c != '@' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status LineError(int line, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("tokens file line ", line, ": ", AsAbsl(what)));
}

bool TokenCharacters(std::string_view token) {
  for (unsigned char c : token) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return !token.empty();
}

// The token of an `authorization` value, or "" when it is no `Bearer <token>`.
std::string_view BearerToken(std::string_view value) {
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() + 1 ||
      !absl::EqualsIgnoreCase(AsAbsl(value.substr(0, kScheme.size())), AsAbsl(kScheme)) ||
      value[kScheme.size()] != ' ') {
    return {};
  }
  std::string_view token = value.substr(kScheme.size() + 1);
  if (token.size() > kTokenBytesMax || !TokenCharacters(token)) return {};
  return token;
}

}  // namespace

std::string Sha256Hex(std::string_view text) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const Hash hash = Sha256(text);
  std::string hex;
  for (unsigned char b : hash) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0xf]);
  }
  return hex;
}

absl::StatusOr<std::shared_ptr<const TokenSet>> TokenSet::Parse(std::string_view text) {
  auto set = std::make_shared<TokenSet>();
  std::map<Hash, int> line_of_hash;
  std::map<std::string, int> line_of_name;
  int line = 0;
  for (absl::string_view raw : absl::StrSplit(AsAbsl(text), '\n')) {
    ++line;
    absl::string_view content = absl::StripAsciiWhitespace(raw);
    if (content.empty() || content[0] == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(content, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 4) {
      return LineError(line, absl::StrCat("expected 4 fields (hash, scopes, tenant, name), found ",
                                          fields.size()));
    }
    Entry entry;
    if (!ParseHash(AsStd(fields[0]), &entry.hash)) {
      return LineError(line, "the hash must be 64 lowercase hex digits: the SHA-256 of the "
                             "token, as `printf %s \"$TOKEN\" | sha256sum` prints it");
    }
    Caller caller;
    if (!ParseScopes(AsStd(fields[1]), &caller.scopes)) {
      return LineError(line, "scopes must be wallets:read and/or wallets:write, comma-separated, "
                             "each once");
    }
    if (fields[2] == "*") {
      caller.all_tenants = true;
    } else if (absl::StatusOr<Tenant> tenant = Tenant::Parse(AsStd(fields[2])); tenant.ok()) {
      caller.tenant = tenant->str();
    } else {
      return LineError(line, "the tenant must be * or 1 to 64 characters of a-z, 0-9 and . _ -");
    }
    if (!ValidName(AsStd(fields[3]))) {
      return LineError(line, "the name must be 1 to 64 characters of letters, digits and . _ : @ -");
    }
    caller.name = std::string(fields[3]);
    if (auto [it, added] = line_of_hash.emplace(entry.hash, line); !added) {
      return LineError(line, absl::StrCat("the same token hash as line ", it->second));
    }
    if (auto [it, added] = line_of_name.emplace(caller.name, line); !added) {
      return LineError(line, absl::StrCat("the same name as line ", it->second));
    }
    entry.caller = std::make_shared<const Caller>(std::move(caller));
    set->entries_.push_back(std::move(entry));
  }
  if (set->entries_.empty()) {
    return absl::InvalidArgumentError("the tokens file holds no token: nobody could call");
  }
  return std::shared_ptr<const TokenSet>(std::move(set));
}

absl::StatusOr<std::shared_ptr<const TokenSet>> TokenSet::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open tokens file ", path, ": ", std::strerror(errno)));
  }
  std::string text(kTokensFileBytesMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read tokens file ", path));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kTokensFileBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokens file ", path, " is over ", kTokensFileBytesMax, " bytes"));
  }
  absl::StatusOr<std::shared_ptr<const TokenSet>> set = Parse(text);
  if (!set.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", set.status().message()));
  }
  return set;
}

std::shared_ptr<const Caller> TokenSet::Find(std::string_view token) const {
  const Hash hash = Sha256(token);
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    const bool equal = CRYPTO_memcmp(entry.hash.data(), hash.data(), hash.size()) == 0;
    found = equal ? &entry : found;
  }
  return found != nullptr ? found->caller : nullptr;
}

std::unique_ptr<Authenticator> Authenticator::Open(std::string name) {
  std::unique_ptr<Authenticator> auth(new Authenticator());
  auth->open_ = std::make_shared<const Caller>(Caller::Unrestricted(std::move(name)));
  return auth;
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::FromFile(std::string path) {
  absl::StatusOr<std::shared_ptr<const TokenSet>> tokens = TokenSet::Load(path);
  if (!tokens.ok()) return tokens.status();
  std::unique_ptr<Authenticator> auth(new Authenticator());
  auth->path_ = std::move(path);
  auth->tokens_ = *std::move(tokens);
  return auth;
}

absl::StatusOr<size_t> Authenticator::Reload() {
  if (open_ != nullptr) return 0;
  absl::StatusOr<std::shared_ptr<const TokenSet>> tokens = TokenSet::Load(path_);
  if (!tokens.ok()) return tokens.status();
  const size_t size = (*tokens)->size();
  std::lock_guard<std::mutex> lock(mu_);
  tokens_ = *std::move(tokens);
  return size;
}

absl::StatusOr<std::shared_ptr<const Caller>> Authenticator::Authenticate(
    absl::Span<const std::string_view> authorization) const {
  if (open_ != nullptr) return open_;
  std::shared_ptr<const TokenSet> tokens;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tokens = tokens_;
  }
  std::shared_ptr<const Caller> caller;
  if (authorization.size() == 1) {
    const std::string_view token = BearerToken(authorization[0]);
    if (!token.empty()) caller = tokens->Find(token);
  }
  if (caller == nullptr) {
    return DomainError(absl::StatusCode::kUnauthenticated, reason::kUnauthenticated,
                       "a valid `authorization: Bearer <token>` is required");
  }
  return caller;
}

}  // namespace walletd::grpc_adapter
