#include "adapters/grpc/status.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "domain/errors.h"
#include "domain/text.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace walletd::grpc_adapter {

std::string ReportedReason(const absl::Status& status) {
  if (status.ok()) return "";
  std::string reason = ReasonOf(status);
  // DUPLICATE_REQUEST_ID belongs inside the core; seeing it here is a defect.
  if (!reason.empty() && reason != reason::kDuplicateRequestId) return reason;
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return std::string(reason::kDeadlineExceeded);
    case absl::StatusCode::kCancelled:
      return std::string(reason::kCancelled);
    default:
      return std::string(reason::kInternal);
  }
}

::grpc::Status ToGrpcStatus(const absl::Status& status, const std::string& request_id) {
  if (status.ok()) return ::grpc::Status::OK;
  const std::string reason = ReportedReason(status);
  absl::StatusCode code = status.code();
  std::string message(status.message());
  if (reason == reason::kInternal) {
    code = absl::StatusCode::kInternal;
    message = absl::StrCat("internal error; quote request_id ", request_id, " when reporting it");
  }
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain(std::string(kErrorDomain));
  (*info.mutable_metadata())["request_id"] = request_id;
  // Metadata the domain attached for the client (MISSING_SCOPE's "scope"); never for INTERNAL,
  // whose details are the log's.
  if (reason != reason::kInternal) {
    status.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
      if (!absl::StartsWith(url, AsAbsl(kMetadataPayloadUrlPrefix))) return;
      const absl::string_view key = url.substr(kMetadataPayloadUrlPrefix.size());
      if (key != "request_id") (*info.mutable_metadata())[std::string(key)] = std::string(value);
    });
  }
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(info);
  return ::grpc::Status(static_cast<::grpc::StatusCode>(code), message,
                        details.SerializeAsString());
}

}  // namespace walletd::grpc_adapter
