#include "adapters/postgres/repositories.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "domain/errors.h"
#include "domain/status_macros.h"
#include "domain/text.h"

namespace walletd::pg {
namespace {

// Values read back are validated like input: a row the domain would refuse is corruption.
absl::Status Corrupt(const absl::Status& status) {
  return absl::InternalError(absl::StrCat("stored data fails validation: ", status.message()));
}

template <class T>
absl::StatusOr<T> Checked(absl::StatusOr<T> value) {
  if (!value.ok()) return Corrupt(value.status());
  return value;
}

absl::StatusOr<Wallet> DecodeWallet(const Result& r, int row) {
  CHECK(r.columns() == kWalletColumns);
  ASSIGN_OR_RETURN(WalletId id, Checked(WalletId::Parse(r.Uuid(row, kWalletId))));
  ASSIGN_OR_RETURN(RequestId request_id, Checked(RequestId::Parse(r.Text(row, kWalletRequestId))));
  ASSIGN_OR_RETURN(Currency currency, Checked(Currency::Parse(r.Text(row, kWalletCurrency))));
  ASSIGN_OR_RETURN(Tenant tenant, Checked(Tenant::Parse(r.Text(row, kWalletTenant))));
  return Wallet::Restore(std::move(id), std::move(tenant), std::move(request_id), currency,
                         r.Int64(row, kWalletBalance), r.Int64(row, kWalletVersion),
                         r.Timestamp(row, kWalletCreatedAt), r.Timestamp(row, kWalletUpdatedAt));
}

// The postings of a transfer row, however many: parallel arrays of one length, at least one.
absl::StatusOr<std::vector<Posting>> DecodePostings(const Result& r, int row) {
  const std::vector<std::string> wallets = r.UuidArray(row, kPostingWalletIds);
  const std::vector<int64_t> versions = r.Int64Array(row, kPostingVersions);
  const std::vector<int64_t> amounts = r.Int64Array(row, kPostingAmounts);
  const std::vector<int64_t> balances = r.Int64Array(row, kPostingBalancesAfter);
  if (wallets.empty() || versions.size() != wallets.size() || amounts.size() != wallets.size() ||
      balances.size() != wallets.size()) {
    return absl::InternalError(absl::StrCat("stored transfer has ", wallets.size(), " postings"));
  }
  std::vector<Posting> postings;
  for (size_t i = 0; i < wallets.size(); ++i) {
    ASSIGN_OR_RETURN(WalletId wallet, Checked(WalletId::Parse(wallets[i])));
    postings.push_back(Posting{std::move(wallet), amounts[i], balances[i], versions[i]});
  }
  return postings;
}

absl::StatusOr<Transfer> DecodeTransfer(const Result& r, int row) {
  CHECK(r.columns() == kTransferColumns);
  ASSIGN_OR_RETURN(TransferId id, Checked(TransferId::Parse(r.Uuid(row, kTransferId))));
  ASSIGN_OR_RETURN(RequestId request_id,
                   Checked(RequestId::Parse(r.Text(row, kTransferRequestId))));
  ASSIGN_OR_RETURN(TransferKind kind, KindFromName(r.Text(row, kTransferKind)));
  ASSIGN_OR_RETURN(Money amount, Checked(Money::Positive(r.Int64(row, kTransferAmount),
                                                         r.Text(row, kTransferCurrency))));
  ASSIGN_OR_RETURN(std::vector<Posting> postings, DecodePostings(r, row));
  ASSIGN_OR_RETURN(Tenant tenant, Checked(Tenant::Parse(r.Text(row, kTransferTenant))));
  return Transfer{std::move(id), std::move(tenant),
                  std::move(request_id), kind,
                  amount,        r.Timestamp(row, kTransferCreatedAt),
                  std::move(postings)};
}

Statement Make(Sql sql) { return Statement{sql, {}}; }

}  // namespace

absl::StatusOr<Wallet> WalletRepository::Get(Context& ctx, const WalletId& id) {
  Statement s = Make(Sql::kWalletGet);
  s.params.Uuid(id.str());
  ASSIGN_OR_RETURN(Result r, executor_.Query(ctx, std::move(s)));
  if (r.rows() == 0) return WalletNotFound(id);
  return DecodeWallet(r, 0);
}

absl::StatusOr<std::vector<Wallet>> WalletRepository::LockForUpdate(
    Context& ctx, absl::Span<const WalletId> ids) {
  if (Executor::TransactionOf(ctx) == nullptr) {
    return absl::InternalError("LockForUpdate outside a transaction would lock nothing");
  }
  std::vector<std::string> texts;
  for (const WalletId& id : ids) texts.push_back(id.str());
  Statement s = Make(Sql::kWalletLock);
  s.params.UuidArray(texts);
  ASSIGN_OR_RETURN(Result r, executor_.Query(ctx, std::move(s)));
  std::vector<Wallet> wallets;
  for (int row = 0; row < r.rows(); ++row) {
    ASSIGN_OR_RETURN(Wallet wallet, DecodeWallet(r, row));
    wallets.push_back(std::move(wallet));
  }
  return wallets;
}

absl::Status WalletRepository::Create(Context& ctx, const Wallet& wallet) {
  Statement s = Make(Sql::kWalletInsert);
  s.params.Uuid(wallet.id().str())
      .Text(wallet.request_id().str())
      .Text(wallet.currency().code())
      .Int64(wallet.balance())
      .Int64(wallet.version())
      .Timestamp(wallet.created_at())
      .Timestamp(wallet.updated_at())
      .Text(wallet.tenant().str());
  return executor_.Write(ctx, std::move(s));
}

absl::StatusOr<std::optional<Wallet>> WalletRepository::FindByRequestId(
    Context& ctx, const Tenant& tenant, const RequestId& request_id) {
  Statement s = Make(Sql::kWalletByRequestId);
  s.params.Text(tenant.str()).Text(request_id.str());
  ASSIGN_OR_RETURN(Result r, executor_.Query(ctx, std::move(s)));
  if (r.rows() == 0) return std::optional<Wallet>();
  ASSIGN_OR_RETURN(Wallet wallet, DecodeWallet(r, 0));
  return std::optional<Wallet>(std::move(wallet));
}

absl::Status WalletRepository::SaveAll(Context& ctx, absl::Span<const Wallet> wallets,
                                      absl::Span<const int64_t> expected_versions) {
  if (wallets.size() != expected_versions.size()) {
    return absl::InternalError(absl::StrCat("saving ", wallets.size(), " wallets with ",
                                            expected_versions.size(), " expected versions"));
  }
  if (wallets.empty()) return absl::OkStatus();
  std::vector<std::string> ids;
  std::vector<int64_t> balances, versions;
  std::vector<absl::Time> updated;
  for (const Wallet& wallet : wallets) {
    // A wallet twice would match one row once and read as a version conflict.
    if (std::find(ids.begin(), ids.end(), wallet.id().str()) != ids.end()) {
      return absl::InternalError(absl::StrCat("saving wallet ", wallet.id().str(), " twice"));
    }
    ids.push_back(wallet.id().str());
    balances.push_back(wallet.balance());
    versions.push_back(wallet.version());
    updated.push_back(wallet.updated_at());
  }
  Statement s = Make(Sql::kWalletSave);
  s.params.UuidArray(ids)
      .Int64Array(balances)
      .Int64Array(versions)
      .TimestampArray(updated)
      .Int64Array(expected_versions);
  return executor_.Write(ctx, std::move(s));
}

absl::Status TransferRepository::Insert(Context& ctx, const Transfer& transfer) {
  std::vector<std::string> wallets;
  std::vector<int64_t> versions, amounts, balances;
  for (const Posting& p : transfer.postings) {
    wallets.push_back(p.wallet_id.str());
    versions.push_back(p.wallet_version);
    amounts.push_back(p.amount);
    balances.push_back(p.balance_after);
  }
  Statement s = Make(Sql::kTransferInsert);
  s.params.Uuid(transfer.id.str()).Text(transfer.request_id.str()).Text(KindName(transfer.kind));
  // The columns that carry the tenant's foreign keys, and the API's view of the transfer.
  const std::optional<WalletId> from = transfer.from(), to = transfer.to();
  from ? s.params.Uuid(from->str()) : s.params.Null();
  to ? s.params.Uuid(to->str()) : s.params.Null();
  s.params.Int64(transfer.amount.minor_units())
      .Text(transfer.amount.currency().code())
      .Timestamp(transfer.created_at)
      .UuidArray(wallets)
      .Int64Array(versions)
      .Int64Array(amounts)
      .Int64Array(balances)
      .Text(transfer.tenant.str());
  return executor_.Write(ctx, std::move(s));
}

absl::StatusOr<std::optional<Transfer>> TransferRepository::FindByRequestId(
    Context& ctx, const Tenant& tenant, const RequestId& request_id) {
  Statement s = Make(Sql::kTransferByRequestId);
  s.params.Text(tenant.str()).Text(request_id.str());
  ASSIGN_OR_RETURN(Result r, executor_.Query(ctx, std::move(s)));
  if (r.rows() == 0) return std::optional<Transfer>();
  ASSIGN_OR_RETURN(Transfer transfer, DecodeTransfer(r, 0));
  return std::optional<Transfer>(std::move(transfer));
}

absl::StatusOr<Transfer> TransferRepository::FindById(Context& ctx, const TransferId& id) {
  Statement s = Make(Sql::kTransferById);
  s.params.Uuid(id.str());
  ASSIGN_OR_RETURN(Result r, executor_.Query(ctx, std::move(s)));
  if (r.rows() == 0) return TransferNotFound(id);
  return DecodeTransfer(r, 0);
}

absl::StatusOr<std::vector<Transfer>> TransferRepository::ListByWallet(
    Context& ctx, const WalletId& wallet, std::optional<int64_t> before_version, int limit) {
  Statement s = Make(Sql::kTransferHistory);
  s.params.Uuid(wallet.str())
      .Int64(before_version.value_or(std::numeric_limits<int64_t>::max()))
      .Int64(limit);
  ASSIGN_OR_RETURN(Result r, executor_.Query(ctx, std::move(s)));
  std::vector<Transfer> transfers;
  for (int row = 0; row < r.rows(); ++row) {
    ASSIGN_OR_RETURN(Transfer transfer, DecodeTransfer(r, row));
    transfers.push_back(std::move(transfer));
  }
  return transfers;
}

}  // namespace walletd::pg
