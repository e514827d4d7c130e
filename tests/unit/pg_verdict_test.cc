// What a round trip's replies, I/O status and COMMIT position mean for a transaction: every case
// of a connection failing before, during and after COMMIT. Pure, so no server is needed.

#include <optional>
#include <string>
#include <vector>

#include "adapters/postgres/transaction.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace walletd::testing {
namespace {

using absl::StatusCode;
using pg::Reply;
using pg::Verdict;
using Retry = Verdict::Retry;

Reply Ok() { return Reply{}; }
Reply Committed() {
  Reply reply;
  reply.committed = true;
  return reply;
}
Reply Failed(const std::string& sqlstate, const std::string& constraint = "") {
  Reply reply;
  reply.failed = true;
  reply.error = {sqlstate, constraint, "server text"};
  return reply;
}

const absl::Status kLost = absl::UnavailableError("receive: server closed the connection");
const absl::Status kLate = absl::DeadlineExceededError("deadline passed while waiting");

struct Case {
  std::string name;
  std::vector<Reply> replies;
  absl::Status io;
  bool sent;
  std::optional<size_t> commit_index;
  StatusCode code;
  std::string_view reason;  // "" for OK and for errors without one.
  Retry retry;
  bool committed;
};

TEST(VerdictTest, EveryWayARoundTripEndsDecidesTheTransaction) {
  const std::optional<size_t> none;
  const std::vector<Case> cases = {
      {"a query answered", {Ok(), Ok(), Ok()}, absl::OkStatus(), true, none, StatusCode::kOk, "",
       Retry::kNo, false},
      {"COMMIT answered", {Ok(), Committed()}, absl::OkStatus(), true, 1, StatusCode::kOk, "",
       Retry::kNo, true},
      {"COMMIT that rolled back", {Ok(), Ok()}, absl::OkStatus(), true, 1, StatusCode::kInternal,
       "", Retry::kNo, false},
      {"serialization failure", {Ok(), Failed("40001"), Ok()}, absl::OkStatus(), true, 2,
       StatusCode::kAborted, reason::kTransactionConflict, Retry::kConflict, false},
      {"deadlock", {Failed("40P01")}, absl::OkStatus(), true, none, StatusCode::kAborted,
       reason::kTransactionConflict, Retry::kConflict, false},
      {"serialization failure at COMMIT", {Ok(), Failed("40001")}, absl::OkStatus(), true, 1,
       StatusCode::kAborted, reason::kTransactionConflict, Retry::kConflict, false},
      {"stale save", {Failed("23514", "wallet_version_matches"), Ok()}, absl::OkStatus(), true, 1,
       StatusCode::kAborted, reason::kVersionConflict, Retry::kNo, false},
      {"server ended the session before COMMIT", {Ok(), Failed("57P01")}, kLost, true, 2,
       StatusCode::kUnavailable, reason::kDatabaseUnavailable, Retry::kConnectionLost, false},
      {"server ended the session during COMMIT", {Ok(), Failed("57P01")}, kLost, true, 1,
       StatusCode::kUnavailable, reason::kCommitOutcomeUnknown, Retry::kNo, false},
      {"a statement error, then the connection failed", {Failed("40001")}, kLost, true, 2,
       StatusCode::kAborted, reason::kTransactionConflict, Retry::kConflict, false},
      {"connection found dead before sending", {}, kLost, false, 1, StatusCode::kUnavailable, "",
       Retry::kConnectionLost, false},
      {"connection failed before COMMIT's reply", {Ok()}, kLost, true, 1,
       StatusCode::kUnavailable, reason::kCommitOutcomeUnknown, Retry::kNo, false},
      {"connection failed with no reply to a COMMIT batch", {}, kLost, true, 1,
       StatusCode::kUnavailable, reason::kCommitOutcomeUnknown, Retry::kNo, false},
      {"deadline passed before COMMIT's reply", {Ok()}, kLate, true, 1,
       StatusCode::kDeadlineExceeded, reason::kCommitOutcomeUnknown, Retry::kNo, false},
      // COMMIT's reply arrived and says it committed; only the Sync behind it was lost.
      {"connection failed after COMMIT's reply", {Ok(), Committed()}, kLost, true, 1,
       StatusCode::kOk, "", Retry::kNo, true},
      {"deadline passed after COMMIT's reply", {Committed()}, kLate, true, 0, StatusCode::kOk, "",
       Retry::kNo, true},
      {"connection failed after a COMMIT that rolled back", {Ok(), Ok()}, kLost, true, 1,
       StatusCode::kInternal, "", Retry::kNo, false},
      {"connection failed during a query", {Ok()}, kLost, true, none, StatusCode::kUnavailable, "",
       Retry::kConnectionLost, false},
      {"deadline passed during a query", {Ok()}, kLate, true, none, StatusCode::kDeadlineExceeded,
       "", Retry::kNo, false},
  };
  for (const Case& c : cases) {
    const Verdict verdict = pg::Judge(c.replies, c.io, c.sent, c.commit_index);
    if (c.code == StatusCode::kOk) {
      EXPECT_THAT(verdict.status, IsOk()) << c.name;
    } else {
      EXPECT_EQ(verdict.status.code(), c.code) << c.name << ": " << verdict.status;
      if (!c.reason.empty()) {
        EXPECT_THAT(verdict.status, StatusIs(c.code, c.reason)) << c.name;
      }
    }
    EXPECT_EQ(verdict.retry, c.retry) << c.name;
    EXPECT_EQ(verdict.committed, c.committed) << c.name;
  }
}

}  // namespace
}  // namespace walletd::testing
