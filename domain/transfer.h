#pragma once
// A transfer is the ledger's record of one movement of money: a transfer between wallets, a
// deposit into one (money enters from outside), or a withdrawal from one (money leaves). Each
// touched wallet gets a posting: the signed change, the balance after it and the wallet version
// it produced, so history and replays can show the balance without recomputing it. Nothing here
// counts the wallets: a movement has any number of legs, one posting each.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
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
  // What the movement moved: what its debits take out, or for a deposit what its credits put in.
  Money amount;
  absl::Time created_at;
  // One per touched wallet, in the movement's leg order: debits first, each group by wallet id.
  std::vector<Posting> postings;

  // The posting of `wallet`, or nullptr when the transfer did not touch it.
  const Posting* PostingOf(const WalletId& wallet) const;
  // The wallets the API shows: that of the first debit posting (empty for a deposit) and that of
  // the first credit posting (empty for a withdrawal).
  std::optional<WalletId> from() const;
  std::optional<WalletId> to() const;
};

// One wallet's part in a movement: its signed change in minor units, negative for a debit.
struct Leg {
  WalletId wallet;
  int64_t change;

  friend bool operator==(const Leg& a, const Leg& b) {
    return a.wallet == b.wallet && a.change == b.change;
  }
};

// The most legs one movement may have: each is a locked row, a saved row and a posting.
inline constexpr size_t kMovementLegsMax = 16;

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
  // Any number of legs in `currency`, put in the one order postings are stored in (debits first,
  // each group by wallet id). SAME_WALLET when a wallet has two legs; INVALID_AMOUNT when the legs
  // do not fit the kind: none or more than kMovementLegsMax, a change of zero, a transfer whose
  // debits and credits differ or lack either side, a deposit with a debit, a withdrawal with a
  // credit, or totals beyond int64.
  static absl::StatusOr<Movement> OfLegs(RequestId request_id, TransferKind kind,
                                         Currency currency, std::vector<Leg> legs);

  const RequestId& request_id() const { return request_id_; }
  TransferKind kind() const { return kind_; }
  const std::vector<Leg>& legs() const { return legs_; }
  const Money& amount() const { return amount_; }
  // As Transfer::from() and to(): the first debited and the first credited wallet.
  std::optional<WalletId> from() const;
  std::optional<WalletId> to() const;

  // The wallets to lock, in ascending id order: every transaction locks in this one global order,
  // so two movements over the same wallets can never wait for each other in a cycle.
  std::vector<WalletId> WalletsInLockOrder() const;

  // True when `stored` records this very request (same kind, amount, and a posting of the same
  // change on the same wallet for each leg): a replay.
  bool SamePayloadAs(const walletd::Transfer& stored) const;

  // Applies the movement to the locked wallets, exactly one per leg in any order, and returns the
  // ledger record with one posting per leg, in the wallets' tenant. On error no wallet is changed:
  // TENANT_MISMATCH (the wallets belong to several tenants), CURRENCY_MISMATCH,
  // INSUFFICIENT_FUNDS or BALANCE_OVERFLOW, for the first leg that fails.
  absl::StatusOr<walletd::Transfer> Apply(TransferId id, absl::Time now,
                                          absl::Span<Wallet* const> wallets) const;

 private:
  Movement(RequestId request_id, TransferKind kind, std::vector<Leg> legs, Money amount);

  RequestId request_id_;
  TransferKind kind_;
  std::vector<Leg> legs_;  // Debits first, each group by wallet id.
  Money amount_;
};

}  // namespace walletd
