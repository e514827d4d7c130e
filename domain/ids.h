#pragma once
// Identifiers. Wallet and transfer ids are UUIDs the service generates, kept in canonical
// lower-case text form; request ids are idempotency keys chosen by clients.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "domain/errors.h"

namespace walletd {

namespace internal {
// Lower-cases a UUID in 8-4-4-4-12 hex form, or returns "" when `text` is not one.
std::string CanonicalUuid(std::string_view text);
}  // namespace internal

template <class Tag>
class Uuid {
 public:
  // INVALID_ARGUMENT with the tag's reason unless `text` is a UUID (any case).
  static absl::StatusOr<Uuid> Parse(std::string_view text);

  const std::string& str() const { return value_; }
  friend bool operator==(const Uuid& a, const Uuid& b) { return a.value_ == b.value_; }
  friend auto operator<=>(const Uuid& a, const Uuid& b) { return a.value_ <=> b.value_; }

 private:
  explicit Uuid(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

struct WalletIdTag {
  static constexpr std::string_view kReason = reason::kInvalidWalletId;
  static constexpr std::string_view kNoun = "wallet id";
};
struct TransferIdTag {
  static constexpr std::string_view kReason = reason::kInvalidTransferId;
  static constexpr std::string_view kNoun = "transfer id";
};
using WalletId = Uuid<WalletIdTag>;
using TransferId = Uuid<TransferIdTag>;

absl::Status InvalidUuid(std::string_view reason, std::string_view noun, std::string_view text);

template <class Tag>
absl::StatusOr<Uuid<Tag>> Uuid<Tag>::Parse(std::string_view text) {
  std::string canonical = internal::CanonicalUuid(text);
  if (canonical.empty()) return InvalidUuid(Tag::kReason, Tag::kNoun, text);
  return Uuid(std::move(canonical));
}

// A client's idempotency key: 1 to 128 characters of [A-Za-z0-9._:-]. Compared exactly.
class RequestId {
 public:
  static constexpr size_t kLengthMax = 128;
  static absl::StatusOr<RequestId> Parse(std::string_view text);

  const std::string& str() const { return value_; }
  friend bool operator==(const RequestId& a, const RequestId& b) { return a.value_ == b.value_; }

 private:
  explicit RequestId(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

// The tenant a wallet belongs to: 1 to 64 characters of [a-z0-9._-] ("*" in a tokens file means
// every tenant and is no tenant). Compared exactly.
class Tenant {
 public:
  static constexpr size_t kLengthMax = 64;
  // INVALID_ARGUMENT/INVALID_TENANT unless `text` is a tenant name.
  static absl::StatusOr<Tenant> Parse(std::string_view text);
  // kDefaultTenant: wallets created before tenants existed, and by a platform caller naming none.
  static Tenant Default();

  const std::string& str() const { return value_; }
  friend bool operator==(const Tenant& a, const Tenant& b) { return a.value_ == b.value_; }

 private:
  explicit Tenant(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

}  // namespace walletd
