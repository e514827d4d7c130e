#pragma once
// Abseil 20220623 has no status matchers: StatusIs(code, reason) and IsOk() for Status and StatusOr.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "domain/errors.h"
#include "gmock/gmock.h"

namespace walletd::testing {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <class T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER_P2(StatusIs, code, reason,
           std::string("has code ") + absl::StatusCodeToString(code) + " and reason " +
               std::string(reason)) {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "which is " << status;
  return status.code() == code && ReasonOf(status) == std::string(reason);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "which is " << status;
  return status.ok();
}

}  // namespace walletd::testing
