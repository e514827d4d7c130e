#include "adapters/postgres/errors.h"

#include <array>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "domain/errors.h"
#include "domain/text.h"

namespace walletd::pg {
namespace {

using absl::StatusCode;

struct ConstraintRule {
  std::string_view constraint;
  StatusCode code;
  std::string_view reason;
  std::string_view message;
};

// Every constraint of deploy/migrations, by name. A violation the domain should have prevented
// still maps to the error the domain would have given.
constexpr std::array<ConstraintRule, 21> kConstraints = {{
    // Request ids are unique per tenant.
    {"wallets_tenant_request_id_key", StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
     "the request id already created a wallet"},
    // Wallet ids are random: the same id twice is a wallet insert run again after its connection
    // was lost, and its request id finds the wallet the first run created.
    {"wallets_pkey", StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
     "the wallet already exists"},
    {"wallets_id_tenant_key", StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
     "the wallet already exists"},
    {"transfers_tenant_request_id_key", StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
     "the request id already moved money"},
    {"wallets_tenant_name", StatusCode::kInvalidArgument, reason::kInvalidTenant,
     "tenants are 1 to 64 characters of a-z, 0-9 and . _ -"},
    {"transfers_tenant_name", StatusCode::kInvalidArgument, reason::kInvalidTenant,
     "tenants are 1 to 64 characters of a-z, 0-9 and . _ -"},
    {"wallet_version_matches", StatusCode::kAborted, reason::kVersionConflict,
     "the wallet changed since it was read"},
    {"entries_pkey", StatusCode::kAborted, reason::kVersionConflict,
     "the wallet version is already recorded in the ledger"},
    {"wallets_balance_nonnegative", StatusCode::kFailedPrecondition, reason::kInsufficientFunds,
     "a balance may not go below zero"},
    {"entries_balance_after_nonnegative", StatusCode::kFailedPrecondition,
     reason::kInsufficientFunds, "a balance may not go below zero"},
    {"transfers_amount_positive", StatusCode::kInvalidArgument, reason::kInvalidAmount,
     "amounts must be positive"},
    {"entries_amount_nonzero", StatusCode::kInvalidArgument, reason::kInvalidAmount,
     "postings must move money"},
    {"wallets_currency_code", StatusCode::kInvalidArgument, reason::kInvalidCurrency,
     "currency must be three capital letters"},
    {"transfers_currency_code", StatusCode::kInvalidArgument, reason::kInvalidCurrency,
     "currency must be three capital letters"},
    {"wallets_request_id_length", StatusCode::kInvalidArgument, reason::kInvalidRequestId,
     "request ids are 1 to 128 characters"},
    {"transfers_request_id_length", StatusCode::kInvalidArgument, reason::kInvalidRequestId,
     "request ids are 1 to 128 characters"},
    {"transfers_distinct_wallets", StatusCode::kInvalidArgument, reason::kSameWallet,
     "a transfer needs two different wallets"},
    // Also raised by a wallet of another tenant than the transfer's: for its caller, none.
    {"transfers_from_wallet_fkey", StatusCode::kNotFound, reason::kWalletNotFound,
     "the source wallet does not exist"},
    {"transfers_to_wallet_fkey", StatusCode::kNotFound, reason::kWalletNotFound,
     "the destination wallet does not exist"},
    {"entries_wallet_fkey", StatusCode::kNotFound, reason::kWalletNotFound,
     "the posting's wallet does not exist"},
    {"entries_version_positive", StatusCode::kInternal, reason::kInternal,
     "posting versions start at 1"},
}};

std::string Field(const PGresult* result, int field) {
  const char* value = PQresultErrorField(result, field);
  return value ? value : "";
}

}  // namespace

ServerError ServerErrorOf(const PGresult* result) {
  ServerError error;
  if (result == nullptr) return error;
  error.sqlstate = Field(result, PG_DIAG_SQLSTATE);
  error.constraint = Field(result, PG_DIAG_CONSTRAINT_NAME);
  error.message = Field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (error.message.empty()) error.message = PQresultErrorMessage(result);
  return error;
}

bool IsRetryable(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";
}

absl::Status Unavailable(std::string_view what, std::string_view detail) {
  return WithDetail(DomainError(StatusCode::kUnavailable, reason::kDatabaseUnavailable,
                                "the database is unavailable; retry later with the same request id"),
                    absl::StrCat(AsAbsl(what), ": ", AsAbsl(detail)));
}

absl::Status StatusOf(const ServerError& error) {
  if (!error.constraint.empty()) {
    for (const ConstraintRule& rule : kConstraints) {
      if (rule.constraint == error.constraint) {
        return DomainError(rule.code, rule.reason, rule.message);
      }
    }
  }
  const std::string& state = error.sqlstate;
  if (IsRetryable(state)) {
    return WithDetail(DomainError(StatusCode::kAborted, reason::kTransactionConflict,
                                  "the transaction conflicted with a concurrent one"),
                      absl::StrCat(state, ": ", error.message));
  }
  // 57014: statement_timeout, set from the caller's deadline; 55P03: lock_timeout.
  if (state == "57014" || state == "55P03") {
    return DomainError(StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded,
                       "the database did not answer before the deadline");
  }
  // Class 08: connection exceptions; 57P0x: the server is shutting down or starting; 53: out of
  // resources; 25006: a read-only server (a standby after failover); 25P03: the session idled out.
  if (state.empty() || absl::StartsWith(state, "08") ||
      absl::StartsWith(state, "57P") || absl::StartsWith(state, "53") ||
      state == "25006" || state == "25P03") {
    return Unavailable(absl::StrCat("server error ", state.empty() ? "from libpq" : state),
                       error.message);
  }
  return WithDetail(DomainError(StatusCode::kInternal, reason::kInternal,
                                absl::StrCat("unexpected database error ", state)),
                    absl::StrCat(error.constraint.empty() ? "" : "on ", error.constraint,
                                 error.constraint.empty() ? "" : ": ", error.message));
}

}  // namespace walletd::pg
