#pragma once
// Domain errors are absl::Status values whose code says what the caller may do next and whose
// payload carries a stable, machine-readable reason. Clients branch on the reason; messages are
// for humans and may change.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace walletd {

// The payload key under which a status carries its reason.
inline constexpr std::string_view kReasonPayloadUrl = "type.walletd.dev/walletd.Reason";
// The payload key under which a status carries detail for the log only: libpq's and the server's
// own words (socket paths, hosts, ports, server messages). Never sent to a client.
inline constexpr std::string_view kDetailPayloadUrl = "type.walletd.dev/walletd.Detail";
// The google.rpc.ErrorInfo domain every reason belongs to.
inline constexpr std::string_view kErrorDomain = "walletd";

namespace reason {
// INVALID_ARGUMENT: the request itself is malformed; retrying it unchanged never helps.
inline constexpr std::string_view kInvalidAmount = "INVALID_AMOUNT";
inline constexpr std::string_view kInvalidCurrency = "INVALID_CURRENCY";
inline constexpr std::string_view kInvalidWalletId = "INVALID_WALLET_ID";
inline constexpr std::string_view kInvalidTransferId = "INVALID_TRANSFER_ID";
inline constexpr std::string_view kInvalidRequestId = "INVALID_REQUEST_ID";
inline constexpr std::string_view kInvalidPageToken = "INVALID_PAGE_TOKEN";
inline constexpr std::string_view kInvalidPageSize = "INVALID_PAGE_SIZE";
inline constexpr std::string_view kSameWallet = "SAME_WALLET";
inline constexpr std::string_view kInvalidTenant = "INVALID_TENANT";
// The request's bytes are no message of the method's type (undecodable, or a string field that is
// not UTF-8): the client's encoder is broken, so no field could be checked.
inline constexpr std::string_view kMalformedRequest = "MALFORMED_REQUEST";
// UNAUTHENTICATED: no credentials, or credentials walletd does not know.
inline constexpr std::string_view kUnauthenticated = "UNAUTHENTICATED";
// PERMISSION_DENIED: the caller is known but may not do this. MISSING_SCOPE names the scope in
// the ErrorInfo metadata ("scope"); TENANT_FORBIDDEN: a caller bound to a tenant named another.
inline constexpr std::string_view kMissingScope = "MISSING_SCOPE";
inline constexpr std::string_view kTenantForbidden = "TENANT_FORBIDDEN";
// NOT_FOUND. Also what a caller gets for another tenant's wallet or transfer, word for word.
inline constexpr std::string_view kWalletNotFound = "WALLET_NOT_FOUND";
inline constexpr std::string_view kTransferNotFound = "TRANSFER_NOT_FOUND";
// FAILED_PRECONDITION: a business rule refuses the operation in the current state.
inline constexpr std::string_view kInsufficientFunds = "INSUFFICIENT_FUNDS";
inline constexpr std::string_view kCurrencyMismatch = "CURRENCY_MISMATCH";
inline constexpr std::string_view kBalanceOverflow = "BALANCE_OVERFLOW";
inline constexpr std::string_view kIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED";
// A transfer between wallets of two tenants (only a caller reaching both can ask for one).
inline constexpr std::string_view kTenantMismatch = "TENANT_MISMATCH";
// ABORTED: a concurrency conflict; the whole operation may be retried with the same request id.
inline constexpr std::string_view kTransactionConflict = "TRANSACTION_CONFLICT";
inline constexpr std::string_view kVersionConflict = "VERSION_CONFLICT";
// UNAVAILABLE: retry the call later with the same request id.
inline constexpr std::string_view kDatabaseUnavailable = "DATABASE_UNAVAILABLE";
inline constexpr std::string_view kCommitOutcomeUnknown = "COMMIT_OUTCOME_UNKNOWN";
// RESOURCE_EXHAUSTED: the service sheds load; retry later with backoff.
inline constexpr std::string_view kOverloaded = "OVERLOADED";
inline constexpr std::string_view kPoolExhausted = "POOL_EXHAUSTED";
// RESOURCE_EXHAUSTED as well, but retrying never helps: the request is larger than walletd takes.
inline constexpr std::string_view kRequestTooLarge = "REQUEST_TOO_LARGE";
// DEADLINE_EXCEEDED and CANCELLED: the caller's budget ran out or the caller went away.
inline constexpr std::string_view kDeadlineExceeded = "DEADLINE_EXCEEDED";
inline constexpr std::string_view kCancelled = "CANCELLED";
// INTERNAL: a defect or an unexpected database error; logged with details.
inline constexpr std::string_view kInternal = "INTERNAL";
// ALREADY_EXISTS, internal to the core: a unique request id was taken by a concurrent or earlier
// request. The application turns it into a replay or IDEMPOTENCY_KEY_REUSED; clients never see it.
inline constexpr std::string_view kDuplicateRequestId = "DUPLICATE_REQUEST_ID";
}  // namespace reason

// The payload keys under which a status carries ErrorInfo metadata for the client: this prefix and
// the metadata key.
inline constexpr std::string_view kMetadataPayloadUrlPrefix = "type.walletd.dev/walletd.Metadata/";

// A status with `code`, `message` and the reason payload.
absl::Status DomainError(absl::StatusCode code, std::string_view reason, std::string_view message);

// The reason a status carries, or "" when it carries none (OK, or an error from outside the domain).
std::string ReasonOf(const absl::Status& status);

// True when `status` carries exactly `reason`.
bool HasReason(const absl::Status& status, std::string_view reason);

// `status` with `detail` attached for the log (replacing any earlier detail); OK stays OK.
absl::Status WithDetail(absl::Status status, std::string_view detail);
// The detail a status carries, or "".
std::string DetailOf(const absl::Status& status);
// What a log line says of an error: its message and, when there is one, its detail.
std::string LogText(const absl::Status& status);

// `status` with ErrorInfo metadata `key` = `value` (the client sees it); OK stays OK.
absl::Status WithMetadata(absl::Status status, std::string_view key, std::string_view value);
// The metadata value under `key`, or "".
std::string MetadataOf(const absl::Status& status, std::string_view key);

// Shorthands for the frequent codes.
absl::Status InvalidArgument(std::string_view reason, std::string_view message);
absl::Status NotFound(std::string_view reason, std::string_view message);
absl::Status FailedPrecondition(std::string_view reason, std::string_view message);

}  // namespace walletd
