#include "adapters/grpc/convert.h"

namespace walletd::grpc_adapter {

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1'000'000;
  int64_t rest = micros % 1'000'000;
  if (rest < 0) {  // Timestamp nanos are never negative.
    --seconds;
    rest += 1'000'000;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

void ToProto(int64_t minor_units, const Currency& currency, wallet::v1::Money* out) {
  out->set_minor_units(minor_units);
  out->set_currency(std::string(currency.code()));
}

void ToProto(const Wallet& wallet, wallet::v1::Wallet* out) {
  out->set_id(wallet.id().str());
  out->set_tenant(wallet.tenant().str());
  ToProto(wallet.balance(), wallet.currency(), out->mutable_balance());
  out->set_version(wallet.version());
  ToProto(wallet.created_at(), out->mutable_created_at());
  ToProto(wallet.updated_at(), out->mutable_updated_at());
}

namespace {

wallet::v1::TransferKind KindToProto(TransferKind kind) {
  switch (kind) {
    case TransferKind::kTransfer:
      return wallet::v1::TRANSFER_KIND_TRANSFER;
    case TransferKind::kDeposit:
      return wallet::v1::TRANSFER_KIND_DEPOSIT;
    case TransferKind::kWithdrawal:
      return wallet::v1::TRANSFER_KIND_WITHDRAWAL;
  }
  return wallet::v1::TRANSFER_KIND_UNSPECIFIED;
}

}  // namespace

void ToProto(const Transfer& transfer, wallet::v1::Transfer* out) {
  const Currency& currency = transfer.amount.currency();
  out->set_id(transfer.id.str());
  out->set_request_id(transfer.request_id.str());
  out->set_kind(KindToProto(transfer.kind));
  if (const std::optional<WalletId> from = transfer.from()) out->set_from_wallet_id(from->str());
  if (const std::optional<WalletId> to = transfer.to()) out->set_to_wallet_id(to->str());
  ToProto(transfer.amount.minor_units(), currency, out->mutable_amount());
  ToProto(transfer.created_at, out->mutable_created_at());
  for (const Posting& posting : transfer.postings) {
    wallet::v1::Posting* p = out->add_postings();
    p->set_wallet_id(posting.wallet_id.str());
    ToProto(posting.amount, currency, p->mutable_change());
    ToProto(posting.balance_after, currency, p->mutable_balance_after());
    p->set_wallet_version(posting.wallet_version);
  }
}

}  // namespace walletd::grpc_adapter
