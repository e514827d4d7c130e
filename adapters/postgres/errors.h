#pragma once
// One table from PostgreSQL's SQLSTATE and constraint name to walletd's status codes and reasons.

#include <libpq-fe.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace walletd::pg {

struct ServerError {
  std::string sqlstate;    // Five characters; empty when libpq itself produced the error.
  std::string constraint;  // The violated constraint's name, when there is one.
  std::string message;
};

ServerError ServerErrorOf(const PGresult* result);

// Serialization failure (40001) and deadlock (40P01): the transaction may simply run again.
bool IsRetryable(std::string_view sqlstate);

// The status for a server error: named constraints map to the domain's reasons, SQLSTATE classes
// to codes (08 and shutdowns UNAVAILABLE, 57014 DEADLINE_EXCEEDED, 40001/40P01 ABORTED), and
// anything unexpected to INTERNAL. The server's message goes to the detail, never the message.
absl::Status StatusOf(const ServerError& error);

// UNAVAILABLE/DATABASE_UNAVAILABLE with a message fit for clients; `what` and libpq's or the
// server's words go to the detail, for the log only.
absl::Status Unavailable(std::string_view what, std::string_view detail);

}  // namespace walletd::pg
