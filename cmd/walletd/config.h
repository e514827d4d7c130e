#pragma once
// walletd's configuration: every setting, read once from the flags (or WALLETD_<FLAG> in the
// environment) and checked before anything starts.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/grpc/tls.h"
#include "adapters/grpc/wallet_service.h"
#include "adapters/postgres/pool.h"
#include "adapters/postgres/transactor.h"
#include "ports/logger.h"
#include "ports/transactor.h"

namespace walletd {

struct Config {
  LogLevel log_level = LogLevel::kInfo;
  std::string listen;
  // Plaintext gRPC when no certificate is given, and every caller unrestricted when no tokens
  // are configured.
  bool insecure = false;
  // The certificate files: TLS whenever tls.enabled(), --insecure or not.
  grpc_adapter::TlsFiles tls;
  // The tokens file callers' bearer tokens are checked against; empty only with insecure.
  std::string tokens_file;
  // The libpq connection string: from --dsn (WALLETD_DSN) or the file --dsn_file. It may hold a
  // password: never log it whole.
  std::string dsn;
  // Where Prometheus scrapes /metrics (host:port); empty: no metrics.
  std::string metrics_listen;

  pg::PoolOptions pool;
  pg::Timeouts timeouts;
  pg::RetryOptions retry;
  TxOptions tx;
  grpc_adapter::ServiceOptions service;

  absl::Duration shutdown_grace;
  absl::Duration health_interval;
  bool migrate = true;
  bool migrate_only = false;
  absl::Duration migrate_timeout;
};

/// Whether a flag defined in `filename` is one of walletd's (the others are Abseil's); for
/// --help and the environment.
bool IsWalletdFlagFile(absl::string_view filename);

/// Sets every walletd flag that has a WALLETD_<FLAG> variable in the environment and is not given
/// on the command line; call before absl::ParseCommandLine. INVALID_ARGUMENT names the variable
/// (never its value: it may hold a password).
absl::Status ApplyEnvironment();

/// The configuration from the parsed flags; INVALID_ARGUMENT says which setting is wrong (never
/// quoting the DSN or a file's content).
absl::StatusOr<Config> ConfigFromFlags();

}  // namespace walletd
