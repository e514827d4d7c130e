// Every request's fields through the use cases, against an in-memory ledger that enforces the
// database's constraints (deploy/migrations) and the ledger's invariants. Properties:
// - validation refuses a field only when the documented rule says it is invalid, with that field's
//   reason, and accepts it otherwise: nothing it accepts is refused by the database later;
// - the outcome is the one the ledger's state implies (replay, key reused, not found, funds,
//   overflow), a refusal changes nothing, and a success moves exactly the amount asked;
// - every error carries a reason and a short UTF-8 message; pages of a listing tile the history.
//
// Input: a byte of set-up flags, then up to 4 operations: a byte choosing the use case, then its
// fields in command order (strings as fields, amounts and page sizes as 8-byte integers).

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "application/balance.h"
#include "application/create_wallet.h"
#include "application/deposit.h"
#include "application/get_transfer.h"
#include "application/list_transfers.h"
#include "application/transfer.h"
#include "application/withdraw.h"
#include "tests/fuzz/fuzz_support.h"

namespace walletd::fuzz {
namespace {

using absl::StatusCode;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// ---- The documented rules (proto/wallet/v1/wallet.proto), written independently of domain/. ----

bool SpecRequestId(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

bool SpecUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool SpecCurrencyShape(const std::string& s) {
  return s.size() == 3 && absl::ascii_isupper(static_cast<unsigned char>(s[0])) &&
         absl::ascii_isupper(static_cast<unsigned char>(s[1])) &&
         absl::ascii_isupper(static_cast<unsigned char>(s[2]));
}

// A few codes that are certainly ISO-4217: refusing one of them is a defect.
bool KnownCurrency(const std::string& s) {
  return s == "EUR" || s == "USD" || s == "GBP" || s == "JPY" || s == "CHF" || s == "XAU";
}

// ---- The "database": constraints of deploy/migrations, checked on every write. ----

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += Utf8SequenceLength(s, i)) ++n;
  return n;
}

void CheckTextColumn(const std::string& s, const char* column) {
  // A text parameter must be UTF-8 without NUL, or PostgreSQL refuses the statement.
  FUZZ_CHECK(IsValidUtf8(s) && s.find('\0') == std::string::npos, absl::StrCat(column, ": ", s));
}

void CheckRequestIdColumn(const RequestId& id) {
  CheckTextColumn(id.str(), "request_id");
  const size_t length = CodePoints(id.str());
  FUZZ_CHECK(length >= 1 && length <= 128, "request_id_length: " + id.str());
}

void CheckCurrencyColumn(const Currency& currency) {
  FUZZ_CHECK(SpecCurrencyShape(std::string(currency.code())),
             "currency_code: " + std::string(currency.code()));
}

// walletd compares ids as strings: stored ids are in the one canonical spelling.
void CheckUuidColumn(const std::string& id) {
  FUZZ_CHECK(SpecUuid(id) && absl::AsciiStrToLower(id) == id, "uuid: " + id);
}

struct Store {
  std::map<std::string, Wallet> wallets;  // By id.
  std::vector<Transfer> ledger;           // In commit order.
};

bool SameWallet(const Wallet& a, const Wallet& b) {
  return a.id() == b.id() && a.request_id() == b.request_id() && a.currency() == b.currency() &&
         a.balance() == b.balance() && a.version() == b.version() &&
         a.created_at() == b.created_at() && a.updated_at() == b.updated_at();
}

bool SameStore(const Store& a, const Store& b) {
  if (a.wallets.size() != b.wallets.size() || a.ledger.size() != b.ledger.size()) return false;
  for (auto ia = a.wallets.begin(), ib = b.wallets.begin(); ia != a.wallets.end(); ++ia, ++ib) {
    if (!SameWallet(ia->second, ib->second)) return false;
  }
  for (size_t i = 0; i < a.ledger.size(); ++i) {
    if (!(a.ledger[i].id == b.ledger[i].id)) return false;
  }
  return true;
}

class TxSlot : public ContextSlot {};

class FakeTransactor : public Transactor {
 public:
  explicit FakeTransactor(Store& store) : store_(store) {}
  absl::Status WithinTransaction(Context& ctx, const TxOptions&,
                                 absl::FunctionRef<absl::Status(Context&)> fn) override {
    if (ctx.slot() != nullptr) return fn(ctx);
    Store before = store_;
    TxSlot slot;
    ctx.set_slot(&slot);
    absl::Status status = fn(ctx);
    ctx.set_slot(nullptr);
    if (!status.ok()) store_ = std::move(before);  // Rollback.
    return status;
  }

 private:
  Store& store_;
};

absl::Status NoWallet(const WalletId& id) {
  return NotFound(reason::kWalletNotFound, "no wallet " + id.str());
}

class FakeWallets : public WalletRepository {
 public:
  explicit FakeWallets(Store& store) : store_(store) {}

  absl::StatusOr<Wallet> Get(Context&, const WalletId& id) override {
    CheckUuidColumn(id.str());
    auto it = store_.wallets.find(id.str());
    if (it == store_.wallets.end()) return NoWallet(id);
    return it->second;
  }

  absl::StatusOr<std::vector<Wallet>> LockForUpdate(Context& ctx,
                                                    absl::Span<const WalletId> ids) override {
    FUZZ_CHECK(ctx.slot() != nullptr, "LockForUpdate outside a transaction");
    std::vector<Wallet> out;
    for (size_t i = 0; i < ids.size(); ++i) {
      CheckUuidColumn(ids[i].str());
      FUZZ_CHECK(i == 0 || ids[i - 1] < ids[i], "locks not taken in ascending id order");
      auto it = store_.wallets.find(ids[i].str());
      if (it != store_.wallets.end()) out.push_back(it->second);  // A missing one is left out.
    }
    return out;
  }

  absl::Status Create(Context&, const Wallet& wallet) override {
    CheckUuidColumn(wallet.id().str());
    CheckRequestIdColumn(wallet.request_id());
    CheckCurrencyColumn(wallet.currency());
    FUZZ_CHECK(wallet.balance() == 0 && wallet.version() == 0, "a new wallet is empty");
    FUZZ_CHECK(store_.wallets.count(wallet.id().str()) == 0, "wallets_pkey: " + wallet.id().str());
    for (const auto& [id, stored] : store_.wallets) {
      if (stored.tenant() == wallet.tenant() && stored.request_id() == wallet.request_id()) {
        return DomainError(StatusCode::kAlreadyExists, reason::kDuplicateRequestId, "taken");
      }
    }
    store_.wallets.emplace(wallet.id().str(), wallet);
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<Wallet>> FindByRequestId(Context&, const Tenant& tenant,
                                                        const RequestId& id) override {
    CheckRequestIdColumn(id);
    for (const auto& [key, stored] : store_.wallets) {
      if (stored.tenant() == tenant && stored.request_id() == id) {
        return std::optional<Wallet>(stored);
      }
    }
    return std::optional<Wallet>();
  }

  absl::Status SaveAll(Context& ctx, absl::Span<const Wallet> wallets,
                       absl::Span<const int64_t> expected_versions) override {
    FUZZ_CHECK(ctx.slot() != nullptr, "SaveAll outside a transaction");
    FUZZ_CHECK(wallets.size() == expected_versions.size(), "a version per wallet");
    // All or none, as the one statement that writes them: check every wallet before any write.
    for (size_t i = 0; i < wallets.size(); ++i) {
      const Wallet& wallet = wallets[i];
      const int64_t expected_version = expected_versions[i];
      for (size_t j = 0; j < i; ++j) {
        FUZZ_CHECK(!(wallets[j].id() == wallet.id()), "a wallet saved twice at once");
      }
      auto it = store_.wallets.find(wallet.id().str());
      FUZZ_CHECK(it != store_.wallets.end(), "saving a wallet never created");
      FUZZ_CHECK(it->second.version() == expected_version, "a version conflict without concurrency");
      FUZZ_CHECK(wallet.version() == expected_version + 1, "a save moves the version by one");
      FUZZ_CHECK(wallet.balance() >= 0, "wallets_balance_nonnegative: " + wallet.id().str());
      FUZZ_CHECK(wallet.request_id() == it->second.request_id() &&
                     wallet.currency() == it->second.currency(),
                 "a save changes only balance, version and time");
    }
    for (const Wallet& wallet : wallets) store_.wallets.find(wallet.id().str())->second = wallet;
    return absl::OkStatus();
  }

 private:
  Store& store_;
};

class FakeLedger : public TransferRepository {
 public:
  explicit FakeLedger(Store& store) : store_(store) {}

  absl::Status Insert(Context& ctx, const Transfer& t) override {
    FUZZ_CHECK(ctx.slot() != nullptr, "Insert outside a transaction");
    CheckUuidColumn(t.id.str());
    CheckRequestIdColumn(t.request_id);
    CheckCurrencyColumn(t.amount.currency());
    FUZZ_CHECK(t.amount.minor_units() > 0, "transfers_amount_positive");
    // The columns the adapter fills from the postings.
    const std::optional<WalletId> from = t.from(), to = t.to();
    const bool shaped = t.kind == TransferKind::kTransfer   ? from && to
                        : t.kind == TransferKind::kDeposit ? !from && to
                                                           : from && !to;
    FUZZ_CHECK(shaped, "transfers_kind_shape");
    FUZZ_CHECK(!(from && to && *from == *to), "transfers_distinct_wallets");
    FUZZ_CHECK(t.postings.size() == (t.kind == TransferKind::kTransfer ? 2u : 1u), "postings");
    for (const Posting& p : t.postings) {
      auto it = store_.wallets.find(p.wallet_id.str());
      FUZZ_CHECK(it != store_.wallets.end(), "entries_wallet_fkey");
      FUZZ_CHECK(p.amount != 0, "entries_amount_nonzero");
      FUZZ_CHECK(p.balance_after >= 0, "entries_balance_after_nonnegative");
      FUZZ_CHECK(p.wallet_version > 0, "entries_version_positive");
      FUZZ_CHECK(it->second.currency() == t.amount.currency(), "a posting in a foreign currency");
      // The ledger agrees with the wallet it was saved with in the same transaction.
      FUZZ_CHECK(p.balance_after == it->second.balance() &&
                     p.wallet_version == it->second.version(),
                 "posting and wallet disagree: " + p.wallet_id.str());
      const bool debit = from && p.wallet_id == *from;
      FUZZ_CHECK(p.amount == (debit ? -t.amount.minor_units() : t.amount.minor_units()),
                 "a posting moves the transfer's amount");
      for (const Transfer& old : store_.ledger) {
        const Posting* q = old.PostingOf(p.wallet_id);
        FUZZ_CHECK(q == nullptr || q->wallet_version != p.wallet_version, "entries_pkey");
      }
    }
    for (const Transfer& old : store_.ledger) {
      FUZZ_CHECK(!(old.id == t.id), "transfers_pkey");
      if (old.tenant == t.tenant && old.request_id == t.request_id) {
        return DomainError(StatusCode::kAlreadyExists, reason::kDuplicateRequestId, "taken");
      }
    }
    store_.ledger.push_back(t);
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<Transfer>> FindByRequestId(Context&, const Tenant& tenant,
                                                          const RequestId& id) override {
    CheckRequestIdColumn(id);
    for (const Transfer& t : store_.ledger) {
      if (t.tenant == tenant && t.request_id == id) return std::optional<Transfer>(t);
    }
    return std::optional<Transfer>();
  }

  absl::StatusOr<Transfer> FindById(Context&, const TransferId& id) override {
    CheckUuidColumn(id.str());
    for (const Transfer& t : store_.ledger) {
      if (t.id == id) return t;
    }
    return NotFound(reason::kTransferNotFound, "no transfer " + id.str());
  }

  absl::StatusOr<std::vector<Transfer>> ListByWallet(Context&, const WalletId& wallet,
                                                     std::optional<int64_t> before_version,
                                                     int limit) override {
    CheckUuidColumn(wallet.str());
    FUZZ_CHECK(limit > 0 && limit <= ListTransfersHandler::kPageSizeMax + 1,
               absl::StrCat("limit ", limit));
    return History(store_, wallet, before_version, limit);
  }

  // The model's listing, newest first.
  static std::vector<Transfer> History(const Store& store, const WalletId& wallet,
                                       std::optional<int64_t> before_version, size_t limit) {
    std::vector<Transfer> out;
    for (auto it = store.ledger.rbegin(); it != store.ledger.rend(); ++it) {
      const Posting* p = it->PostingOf(wallet);
      if (p != nullptr && (!before_version || p->wallet_version < *before_version)) {
        out.push_back(*it);
      }
    }
    std::stable_sort(out.begin(), out.end(), [&](const Transfer& a, const Transfer& b) {
      return a.PostingOf(wallet)->wallet_version > b.PostingOf(wallet)->wallet_version;
    });
    if (out.size() > limit) out.erase(out.begin() + static_cast<ptrdiff_t>(limit), out.end());
    return out;
  }

 private:
  Store& store_;
};

class FixedClock : public Clock {
 public:
  absl::Time Now() override { return absl::FromUnixMicros(1'700'000'000'000'000); }
};

// Deterministic ids, so that inputs can name the wallets the set-up and earlier operations made.
class CountingIds : public IdGenerator {
 public:
  WalletId NewWalletId() override {
    return *WalletId::Parse(absl::StrFormat("00000000-0000-4000-8000-%012x", next_wallet_++));
  }
  TransferId NewTransferId() override {
    return *TransferId::Parse(absl::StrFormat("00000000-0000-4000-9000-%012x", next_transfer_++));
  }

 private:
  int next_wallet_ = 0xa;  // ...00a, ...00b, ...00c are the set-up's wallets.
  int next_transfer_ = 1;
};

// ---- One input's world: a fresh ledger, set up, then the fuzzed operations. ----

class World {
 public:
  explicit World(uint8_t flags);
  void Run(Input& in);

 private:
  void CreateWallet(Input& in);
  void Move(Input& in, TransferKind kind);
  void Balance(Input& in);
  void GetTransfer(Input& in);
  void ListTransfers(Input& in);
  void CheckPages(const WalletId& wallet, int page_size, std::optional<int64_t> before,
                  const ListTransfersHandler::Result& page);

  Store store_;
  FakeTransactor tx_{store_};
  FakeWallets wallets_{store_};
  FakeLedger ledger_{store_};
  FixedClock clock_;
  CountingIds ids_;
  MovePorts ports_{tx_, wallets_, ledger_, clock_, ids_, TxOptions{}};
  CreateWalletHandler create_{wallets_, clock_, ids_};
  DepositHandler deposit_{ports_};
  WithdrawHandler withdraw_{ports_};
  TransferHandler transfer_{ports_};
  BalanceHandler balance_{wallets_};
  GetTransferHandler get_transfer_{ledger_};
  ListTransfersHandler list_{wallets_, ledger_};
  // Every scope on every tenant: the fuzzed input is the request, not who sends it.
  Caller caller_ = Caller::Unrestricted("fuzz");
  Context ctx_{absl::InfiniteFuture(), "fuzz"};
};

constexpr char kA[] = "00000000-0000-4000-8000-00000000000a";
constexpr char kB[] = "00000000-0000-4000-8000-00000000000b";
constexpr char kC[] = "00000000-0000-4000-8000-00000000000c";

World::World(uint8_t flags) {
  ctx_.set_caller(&caller_);
  auto created = [&](const char* rid, const char* currency, const char* id) {
    auto r = create_(ctx_, {rid, currency, ""});
    FUZZ_CHECK(r.ok() && r->wallet.id().str() == id, Describe(r.status()));
  };
  created("open-a", "EUR", kA);
  created("open-b", "EUR", kB);
  created("open-c", "USD", kC);
  auto moved = [&](absl::StatusOr<MoveResult> r) { FUZZ_CHECK(r.ok(), Describe(r.status())); };
  moved(deposit_(ctx_, {"seen-1", kA, 1000, "EUR"}));
  moved(transfer_(ctx_, {"seen-2", kA, kB, 250, "EUR"}));
  moved(deposit_(ctx_, {"seen-3", kC, 500, "USD"}));
  if (flags & 1) moved(deposit_(ctx_, {"seen-4", kB, kInt64Max - 250 - 7, "EUR"}));
  if (flags & 2) {
    for (int i = 0; i < 3; ++i) moved(withdraw_(ctx_, {absl::StrCat("seen-w", i), kA, 1, "EUR"}));
  }
  if (flags & 4) {
    // Only corrupt storage gets a wallet here (2^63 movements): it must refuse, not wrap.
    const Wallet& a = store_.wallets.at(kA);
    store_.wallets.insert_or_assign(
        kA, *Wallet::Restore(a.id(), a.tenant(), a.request_id(), a.currency(), a.balance(), kInt64Max,
                             a.created_at(), a.updated_at()));
  }
}

void World::Run(Input& in) {
  for (int i = 0; i < 4 && !in.empty(); ++i) {
    switch (in.Byte() % 7) {
      case 0: CreateWallet(in); break;
      case 1: Move(in, TransferKind::kDeposit); break;
      case 2: Move(in, TransferKind::kWithdrawal); break;
      case 3: Move(in, TransferKind::kTransfer); break;
      case 4: Balance(in); break;
      case 5: GetTransfer(in); break;
      default: ListTransfers(in); break;
    }
  }
}

// An INVALID_ARGUMENT must name a field the rules call invalid; a refusal changes nothing.
void CheckRefusal(const absl::Status& status, const Store& before, const Store& after) {
  FUZZ_CHECK_ERROR(status);
  FUZZ_CHECK(SameStore(before, after), "a refused call changed the ledger: " + Describe(status));
}

void World::CreateWallet(Input& in) {
  CreateWalletHandler::Command c;
  c.request_id = in.Field();
  c.currency = in.Field();
  const Store before = store_;
  auto r = create_(ctx_, c);
  const std::string detail = absl::StrCat(c.request_id, "|", c.currency, " -> ", Describe(r.status()));
  const bool currency_ok = SpecCurrencyShape(c.currency) && KnownCurrency(c.currency);
  if (!r.ok()) CheckRefusal(r.status(), before, store_);
  if (!r.ok() && r.status().code() == StatusCode::kInvalidArgument) {
    const std::string why = ReasonOf(r.status());
    FUZZ_CHECK((why == reason::kInvalidRequestId && !SpecRequestId(c.request_id)) ||
                   (why == reason::kInvalidCurrency && !currency_ok),
               detail);
    return;
  }
  FUZZ_CHECK(SpecRequestId(c.request_id) && SpecCurrencyShape(c.currency), detail);
  std::optional<Wallet> prior;
  for (const auto& [id, w] : before.wallets) {
    if (w.request_id().str() == c.request_id) prior = w;
  }
  if (prior && std::string(prior->currency().code()) != c.currency) {
    FUZZ_CHECK(HasReason(r.status(), reason::kIdempotencyKeyReused), detail);
    return;
  }
  FUZZ_CHECK(r.ok(), detail);
  FUZZ_CHECK(r->replayed == prior.has_value(), detail);
  if (prior) {
    FUZZ_CHECK(r->wallet.id() == prior->id() && SameStore(before, store_), detail);
    return;
  }
  FUZZ_CHECK(r->wallet.balance() == 0 && r->wallet.version() == 0 &&
                 std::string(r->wallet.currency().code()) == c.currency &&
                 r->wallet.request_id().str() == c.request_id &&
                 store_.wallets.size() == before.wallets.size() + 1,
             detail);
}

__int128 TotalMoney(const Store& store) {
  __int128 sum = 0;
  for (const auto& [id, w] : store.wallets) sum += w.balance();
  return sum;
}

void World::Move(Input& in, TransferKind kind) {
  std::string request_id = in.Field();
  std::optional<std::string> from, to;
  if (kind != TransferKind::kDeposit) from = in.Field();
  if (kind != TransferKind::kWithdrawal) to = in.Field();
  const int64_t amount = in.Int64();
  std::string currency = in.Field();

  const Store before = store_;
  absl::StatusOr<MoveResult> r;
  switch (kind) {
    case TransferKind::kDeposit: r = deposit_(ctx_, {request_id, *to, amount, currency}); break;
    case TransferKind::kWithdrawal: r = withdraw_(ctx_, {request_id, *from, amount, currency}); break;
    case TransferKind::kTransfer: r = transfer_(ctx_, {request_id, *from, *to, amount, currency}); break;
  }
  const std::string detail =
      absl::StrCat(AsAbsl(KindName(kind)), " ", request_id, "|", from.value_or("-"), "|", to.value_or("-"),
                   "|", amount, "|", currency, " -> ", Describe(r.status()));
  if (!r.ok()) CheckRefusal(r.status(), before, store_);

  // Validation: a refused field is invalid by the rules; a call past validation had valid fields.
  const bool ids_ok = (!from || SpecUuid(*from)) && (!to || SpecUuid(*to));
  const bool same = from && to && ids_ok && absl::AsciiStrToLower(*from) == absl::AsciiStrToLower(*to);
  if (!r.ok() && r.status().code() == StatusCode::kInvalidArgument) {
    const std::string why = ReasonOf(r.status());
    FUZZ_CHECK((why == reason::kInvalidRequestId && !SpecRequestId(request_id)) ||
                   (why == reason::kInvalidWalletId && !ids_ok) ||
                   (why == reason::kInvalidAmount && amount <= 0) ||
                   (why == reason::kInvalidCurrency &&
                    !(SpecCurrencyShape(currency) && KnownCurrency(currency))) ||
                   (why == reason::kSameWallet && same),
               detail);
    return;
  }
  FUZZ_CHECK(SpecRequestId(request_id) && ids_ok && amount > 0 && SpecCurrencyShape(currency) &&
                 !same,
             detail);

  // The outcome the ledger's state implies.
  auto find = [&](const std::optional<std::string>& id) -> const Wallet* {
    if (!id) return nullptr;
    auto it = before.wallets.find(absl::AsciiStrToLower(*id));
    return it == before.wallets.end() ? nullptr : &it->second;
  };
  const Wallet* payer = find(from);
  const Wallet* payee = find(to);
  const bool missing = (from && !payer) || (to && !payee);
  const bool mismatch = (payer && std::string(payer->currency().code()) != currency) ||
                        (payee && std::string(payee->currency().code()) != currency);
  const bool insufficient = payer && payer->balance() < amount;
  int64_t ignored = 0;
  const bool overflow = payee && __builtin_add_overflow(payee->balance(), amount, &ignored);
  const bool last_version =
      (payer && payer->version() == kInt64Max) || (payee && payee->version() == kInt64Max);
  const Transfer* prior = nullptr;
  for (const Transfer& t : before.ledger) {
    if (t.request_id.str() == request_id) prior = &t;
  }
  if (!r.ok() && r.status().code() == StatusCode::kInternal) {
    FUZZ_CHECK(last_version, detail);  // The only INTERNAL an honest ledger can cause.
    return;
  }
  // A caller reaching every tenant looks a request id up in its wallets' tenant: with a wallet
  // missing there is none to look in, and the answer is WALLET_NOT_FOUND (checked below).
  if (prior != nullptr && !missing) {
    auto canon = [](const std::optional<std::string>& id) -> std::optional<std::string> {
      if (!id) return std::nullopt;
      return absl::AsciiStrToLower(*id);
    };
    auto str = [](const std::optional<WalletId>& id) -> std::optional<std::string> {
      if (!id) return std::nullopt;
      return id->str();
    };
    const bool same_payload = prior->kind == kind && str(prior->from()) == canon(from) &&
                              str(prior->to()) == canon(to) &&
                              prior->amount.minor_units() == amount &&
                              std::string(prior->amount.currency().code()) == currency;
    if (!same_payload) {
      FUZZ_CHECK(HasReason(r.status(), reason::kIdempotencyKeyReused), detail);
      return;
    }
    FUZZ_CHECK(r.ok() && r->replayed && r->transfer.id == prior->id, detail);
    FUZZ_CHECK(SameStore(before, store_), "a replay changed the ledger: " + detail);
    return;
  }
  if (!r.ok()) {
    const std::string why = ReasonOf(r.status());
    FUZZ_CHECK((why == reason::kWalletNotFound && missing) ||
                   (why == reason::kCurrencyMismatch && mismatch) ||
                   (why == reason::kInsufficientFunds && insufficient) ||
                   (why == reason::kBalanceOverflow && overflow),
               detail);
    return;
  }
  FUZZ_CHECK(!missing && !mismatch && !insufficient && !overflow && !last_version, detail);
  FUZZ_CHECK(!r->replayed && store_.ledger.size() == before.ledger.size() + 1, detail);
  const Transfer& t = store_.ledger.back();
  FUZZ_CHECK(r->transfer.id == t.id && t.request_id.str() == request_id && t.kind == kind &&
                 t.amount.minor_units() == amount,
             detail);
  // Exactly the amount moves: out of the payer, into the payee, nowhere else.
  const __int128 expected_total = TotalMoney(before) + (kind == TransferKind::kDeposit ? amount
                                                        : kind == TransferKind::kWithdrawal ? -amount
                                                                                            : 0);
  FUZZ_CHECK(TotalMoney(store_) == expected_total, "money not conserved: " + detail);
  if (payer) {
    FUZZ_CHECK(store_.wallets.at(payer->id().str()).balance() == payer->balance() - amount, detail);
  }
  if (payee) {
    FUZZ_CHECK(store_.wallets.at(payee->id().str()).balance() == payee->balance() + amount, detail);
  }
  const Wallet* reported = kind == TransferKind::kDeposit ? payee : payer;
  FUZZ_CHECK(r->balance_after == store_.wallets.at(reported->id().str()).balance(), detail);
}

void World::Balance(Input& in) {
  BalanceHandler::Command c{in.Field()};
  auto r = balance_(ctx_, c);
  const std::string detail = c.wallet_id + " -> " + Describe(r.status());
  if (!r.ok()) FUZZ_CHECK_ERROR(r.status());
  if (!SpecUuid(c.wallet_id)) {
    FUZZ_CHECK(HasReason(r.status(), reason::kInvalidWalletId), detail);
    return;
  }
  auto it = store_.wallets.find(absl::AsciiStrToLower(c.wallet_id));
  if (it == store_.wallets.end()) {
    FUZZ_CHECK(HasReason(r.status(), reason::kWalletNotFound), detail);
    return;
  }
  FUZZ_CHECK(r.ok() && SameWallet(*r, it->second), detail);
}

void World::GetTransfer(Input& in) {
  GetTransferHandler::Command c{in.Field()};
  auto r = get_transfer_(ctx_, c);
  const std::string detail = c.transfer_id + " -> " + Describe(r.status());
  if (!r.ok()) FUZZ_CHECK_ERROR(r.status());
  if (!SpecUuid(c.transfer_id)) {
    FUZZ_CHECK(HasReason(r.status(), reason::kInvalidTransferId), detail);
    return;
  }
  const std::string id = absl::AsciiStrToLower(c.transfer_id);
  for (const Transfer& t : store_.ledger) {
    if (t.id.str() == id) {
      FUZZ_CHECK(r.ok() && r->id == t.id && r->postings.size() == t.postings.size(), detail);
      return;
    }
  }
  FUZZ_CHECK(HasReason(r.status(), reason::kTransferNotFound), detail);
}

void World::ListTransfers(Input& in) {
  ListTransfersHandler::Command c;
  c.wallet_id = in.Field();
  c.page_size = static_cast<int32_t>(in.Int64());  // An int32 in the proto.
  c.page_token = in.Field();
  auto r = list_(ctx_, c);
  const std::string detail = absl::StrCat(c.wallet_id, "|", c.page_size, "|", c.page_token, " -> ",
                                          Describe(r.status()));
  if (!r.ok()) FUZZ_CHECK_ERROR(r.status());
  if (!SpecUuid(c.wallet_id)) {
    FUZZ_CHECK(HasReason(r.status(), reason::kInvalidWalletId), detail);
    return;
  }
  const WalletId wallet = *WalletId::Parse(c.wallet_id);
  std::optional<int64_t> before;
  bool token_ok = true;
  if (!c.page_token.empty()) {
    auto decoded = DecodePageToken(wallet, c.page_token);
    token_ok = decoded.ok();
    if (token_ok) before = *decoded;
  }
  if (!r.ok() && r.status().code() == StatusCode::kInvalidArgument) {
    const std::string why = ReasonOf(r.status());
    FUZZ_CHECK((why == reason::kInvalidPageSize && c.page_size < 0) ||
                   (why == reason::kInvalidPageToken && !token_ok),
               detail);
    return;
  }
  FUZZ_CHECK(c.page_size >= 0 && token_ok, detail);
  // An unknown wallet is unknown whatever the token says: a token names no wallet into being.
  if (store_.wallets.count(wallet.str()) == 0) {
    FUZZ_CHECK(HasReason(r.status(), reason::kWalletNotFound), detail);
    return;
  }
  FUZZ_CHECK(r.ok(), detail);
  CheckPages(wallet, c.page_size, before, *r);
}

// The page and the ones after it, as a client would follow next_page_token, tile the history
// below `before` newest first: no gap, no repeat, full pages until the last.
void World::CheckPages(const WalletId& wallet, int page_size, std::optional<int64_t> before,
                       const ListTransfersHandler::Result& first) {
  const size_t size = page_size == 0 ? ListTransfersHandler::kPageSizeDefault
                                     : std::min(page_size, ListTransfersHandler::kPageSizeMax);
  const std::vector<Transfer> all =
      FakeLedger::History(store_, wallet, before, store_.ledger.size());
  ListTransfersHandler::Result page = first;
  size_t seen = 0;
  for (size_t pages = 0;; ++pages) {
    FUZZ_CHECK(pages <= all.size(), "paging does not end");
    FUZZ_CHECK(page.transfers.size() <= size && seen + page.transfers.size() <= all.size(),
               "a page too long");
    for (const Transfer& t : page.transfers) {
      FUZZ_CHECK(t.id == all[seen].id, absl::StrCat("page order at ", seen));
      ++seen;
    }
    if (page.next_page_token.empty()) break;
    FUZZ_CHECK(page.transfers.size() == size, "a short page before the last");
    auto next = list_(ctx_, {wallet.str(), page_size, page.next_page_token});
    FUZZ_CHECK(next.ok(), Describe(next.status()));
    page = std::move(*next);
  }
  FUZZ_CHECK(seen == all.size(), absl::StrCat("pages hold ", seen, " of ", all.size()));
}

}  // namespace
}  // namespace walletd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  walletd::fuzz::Input in(data, size);
  walletd::fuzz::World world(in.Byte());
  world.Run(in);
  return 0;
}
