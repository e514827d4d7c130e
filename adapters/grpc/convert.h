#pragma once
// Domain values to wallet.v1 messages. Requests need no converter: their fields go into the use
// cases' commands as they are, and the use cases validate them.

#include "domain/transfer.h"
#include "domain/wallet.h"
#include "wallet/v1/wallet.pb.h"

namespace walletd::grpc_adapter {

void ToProto(absl::Time t, google::protobuf::Timestamp* out);
void ToProto(int64_t minor_units, const Currency& currency, wallet::v1::Money* out);
void ToProto(const Wallet& wallet, wallet::v1::Wallet* out);
void ToProto(const Transfer& transfer, wallet::v1::Transfer* out);

}  // namespace walletd::grpc_adapter
