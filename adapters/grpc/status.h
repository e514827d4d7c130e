#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace walletd::grpc_adapter {

// The gRPC status for a use case's result: the same code (absl and gRPC share the numbering),
// the message, and a google.rpc.Status in the details holding a google.rpc.ErrorInfo with the
// domain's reason, domain "walletd" and the request id. INTERNAL errors hide their message (it
// may name database internals) behind the request id; the caller logs the original.
::grpc::Status ToGrpcStatus(const absl::Status& status, const std::string& request_id);

// The reason an error is reported with: its own, or the generic one for its code.
std::string ReportedReason(const absl::Status& status);

}  // namespace walletd::grpc_adapter
