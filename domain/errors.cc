#include "domain/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "domain/text.h"

namespace walletd {

absl::Status DomainError(absl::StatusCode code, std::string_view reason, std::string_view message) {
  absl::Status status(code, AsAbsl(message));
  status.SetPayload(AsAbsl(kReasonPayloadUrl), absl::Cord(AsAbsl(reason)));
  return status;
}

std::string ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(AsAbsl(kReasonPayloadUrl));
  if (!payload.has_value()) return "";
  return std::string(*payload);
}

bool HasReason(const absl::Status& status, std::string_view reason) {
  return !status.ok() && ReasonOf(status) == reason;
}

absl::Status WithDetail(absl::Status status, std::string_view detail) {
  if (!status.ok()) status.SetPayload(AsAbsl(kDetailPayloadUrl), absl::Cord(AsAbsl(detail)));
  return status;
}

std::string DetailOf(const absl::Status& status) {
  auto payload = status.GetPayload(AsAbsl(kDetailPayloadUrl));
  if (!payload.has_value()) return "";
  return std::string(*payload);
}

std::string LogText(const absl::Status& status) {
  std::string text(status.message());
  const std::string detail = DetailOf(status);
  if (!detail.empty()) text.append(" (").append(detail).append(")");
  return text;
}

absl::Status WithMetadata(absl::Status status, std::string_view key, std::string_view value) {
  if (!status.ok()) {
    status.SetPayload(absl::StrCat(AsAbsl(kMetadataPayloadUrlPrefix), AsAbsl(key)),
                      absl::Cord(AsAbsl(value)));
  }
  return status;
}

std::string MetadataOf(const absl::Status& status, std::string_view key) {
  auto payload =
      status.GetPayload(absl::StrCat(AsAbsl(kMetadataPayloadUrlPrefix), AsAbsl(key)));
  if (!payload.has_value()) return "";
  return std::string(*payload);
}

absl::Status InvalidArgument(std::string_view reason, std::string_view message) {
  return DomainError(absl::StatusCode::kInvalidArgument, reason, message);
}

absl::Status NotFound(std::string_view reason, std::string_view message) {
  return DomainError(absl::StatusCode::kNotFound, reason, message);
}

absl::Status FailedPrecondition(std::string_view reason, std::string_view message) {
  return DomainError(absl::StatusCode::kFailedPrecondition, reason, message);
}

}  // namespace walletd
