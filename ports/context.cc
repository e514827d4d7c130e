#include "ports/context.h"

#include "domain/errors.h"

namespace walletd {

absl::Status Context::Alive() const {
  if (cancelled()) {
    return DomainError(absl::StatusCode::kCancelled, reason::kCancelled, "the call was cancelled");
  }
  if (absl::Now() >= deadline_) {
    return DomainError(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded,
                       "the call's deadline has passed");
  }
  return absl::OkStatus();
}

}  // namespace walletd
