#pragma once
// A transfer is the ledger's record of one movement of money: a transfer between two wallets, a
// deposit into one (money enters from outside), or a withdrawal from one (money leaves). Each
// touched wallet gets a posting: the signed change, the balance after it and the wallet version
// it produced, so history and replays can show the balance without recomputing it.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/ids.h"
#include "domain/money.h"
#include "domain/wallet.h"

namespace walletd {

enum class TransferKind { kTransfer, kDeposit, kWithdrawal };

// "transfer", "deposit" or "withdrawal": the stored and displayed name.
std::string_view KindName(TransferKind kind);
// The inverse of KindName; INTERNAL for an unknown name (only storage calls it).
absl::StatusOr<TransferKind> KindFromName(std::string_view name);

struct Posting {
  WalletId wallet_id;
  int64_t amount;         // Signed: negative for a debit, positive for a credit.
  int64_t balance_after;  // The wallet's balance right after this transfer.
  int64_t wallet_version; // The wallet version this posting produced.
};

struct Transfer {
  TransferId id;
  // The tenant of its wallets: a transfer never crosses tenants.
  Tenant tenant;
  RequestId request_id;
  TransferKind kind;
  std::optional<WalletId> from;  // Empty for a deposit.
  std::optional<WalletId> to;    // Empty for a withdrawal.
  Money amount;
  absl::Time created_at;
  std::vector<Posting> postings;  // One per touched wallet, debit first.

  // The posting of `wallet`, or nullptr when the transfer did not touch it.
  const Posting* PostingOf(const WalletId& wallet) const;
};

// NOT_FOUND/TRANSFER_NOT_FOUND for `id`: also the answer for another tenant's transfer.
absl::Status TransferNotFound(const TransferId& id);

// A validated request to move money, before it touches any wallet.
class Movement {
 public:
  // INVALID_* for malformed input, SAME_WALLET when `from` equals `to`.
  static absl::StatusOr<Movement> Transfer(std::string_view request_id, std::string_view from,
                                           std::string_view to, int64_t amount,
                                           std::string_view currency);
  static absl::StatusOr<Movement> Deposit(std::string_view request_id, std::string_view to,
                                          int64_t amount, std::string_view currency);
  static absl::StatusOr<Movement> Withdrawal(std::string_view request_id, std::string_view from,
                                             int64_t amount, std::string_view currency);

  const RequestId& request_id() const { return request_id_; }
  TransferKind kind() const { return kind_; }
  const std::optional<WalletId>& from() const { return from_; }
  const std::optional<WalletId>& to() const { return to_; }
  const Money& amount() const { return amount_; }

  // The wallets to lock, in ascending id order: every transaction locks in this one global order,
  // so two movements over the same wallets can never wait for each other in a cycle.
  std::vector<WalletId> WalletsInLockOrder() const;

  // True when `stored` records this very request (same kind, wallets and amount): a replay.
  bool SamePayloadAs(const walletd::Transfer& stored) const;

  // Applies the movement to the locked wallets (`from` and `to` as the kind requires, nullptr
  // otherwise) and returns the ledger record, in the wallets' tenant. On error neither wallet is
  // changed: TENANT_MISMATCH (the wallets belong to two tenants), CURRENCY_MISMATCH,
  // INSUFFICIENT_FUNDS or BALANCE_OVERFLOW.
  absl::StatusOr<walletd::Transfer> Apply(TransferId id, absl::Time now, Wallet* from,
                                          Wallet* to) const;

 private:
  Movement(RequestId request_id, TransferKind kind, std::optional<WalletId> from,
           std::optional<WalletId> to, Money amount);

  RequestId request_id_;
  TransferKind kind_;
  std::optional<WalletId> from_;
  std::optional<WalletId> to_;
  Money amount_;
};

}  // namespace walletd
