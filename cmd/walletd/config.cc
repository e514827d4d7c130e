// walletd's flags and the configuration read from them. Defaults come from the options structs
// of the adapters, so each is stated once.

#include "cmd/walletd/config.h"

#include <cstdlib>
#include <vector>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/postgres/connection.h"
#include "adapters/system/log.h"

namespace {

int64_t Ms(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

const walletd::pg::PoolOptions kPool;
const walletd::pg::Timeouts kTimeouts;
const walletd::pg::RetryOptions kRetry;
const walletd::grpc_adapter::ServiceOptions kService;

}  // namespace

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address (host:port; port 0 picks one)");
ABSL_FLAG(bool, insecure, false,
          "serve plaintext gRPC when no --tls_cert is given (with one, TLS is served all the same) "
          "and, without --tokens_file, let every caller do everything: for local development only");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM file of the server's certificate chain, its own certificate first; with --tls_key, "
          "gRPC is served over TLS only. Re-read on SIGHUP");
ABSL_FLAG(std::string, tls_key, "",
          "PEM file of the unencrypted private key of --tls_cert. Re-read on SIGHUP");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM file of the CA certificates that sign clients' certificates: when set, a client "
          "without a certificate one of them signed is refused at the handshake (mutual TLS). "
          "Re-read on SIGHUP");
ABSL_FLAG(std::string, metrics_listen, "",
          "Prometheus /metrics listen address (host:port, numeric host; port 0 picks one); empty: "
          "off. Unauthenticated: bind a private interface (e.g. 127.0.0.1)");
ABSL_FLAG(std::string, tokens_file, "",
          "file of the API tokens callers present as `authorization: Bearer <token>`, one per "
          "line: `<sha256 hex of the token> <scopes> <tenant or *> <name>` (see docs/security.md); "
          "re-read on SIGHUP. Required unless --insecure");
ABSL_FLAG(std::string, dsn, "dbname=walletd",
          "libpq connection string of the PostgreSQL database; one holding a password belongs in "
          "WALLETD_DSN or --dsn_file, not on the command line, where ps shows it");
ABSL_FLAG(std::string, dsn_file, "",
          "file holding the libpq connection string (trailing newline ignored); instead of --dsn");
ABSL_FLAG(int, pool_min, kPool.size_min, "database connections kept open even when idle");
ABSL_FLAG(int, pool_max, kPool.size_max,
          "database connections at most; a few per database CPU core (more only adds lock and "
          "scheduling contention)");
ABSL_FLAG(int64_t, pool_acquire_timeout_ms, Ms(kPool.acquire_wait_max),
          "longest wait for a free database connection");
ABSL_FLAG(int64_t, connect_timeout_ms, Ms(kPool.connect_timeout),
          "longest a database connection attempt may take");
ABSL_FLAG(int64_t, statement_timeout_ms, Ms(kTimeouts.statement_max),
          "longest any one SQL statement may run");
ABSL_FLAG(int64_t, default_deadline_ms, Ms(kService.default_deadline),
          "deadline of a call that brings none");
ABSL_FLAG(int, tx_attempts_max, kRetry.attempts_max,
          "runs of a transaction on serialization failure or deadlock");
ABSL_FLAG(int64_t, tx_backoff_base_ms, Ms(kRetry.backoff_base),
          "first retry backoff ceiling (full jitter, doubling)");
ABSL_FLAG(int64_t, tx_backoff_max_ms, Ms(kRetry.backoff_max), "largest retry backoff ceiling");
ABSL_FLAG(std::string, isolation, "read-committed",
          "transaction isolation: read-committed, repeatable-read or serializable");
ABSL_FLAG(int, workers, 0, "threads running calls (0: as many as pool_max)");
ABSL_FLAG(int, queue_max, kService.queued_max,
          "calls waiting for a worker before new ones get RESOURCE_EXHAUSTED");
ABSL_FLAG(std::string, queue_order, "lifo",
          "which waiting call runs next: fifo, or lifo (first in, first out until the oldest "
          "waiting call has waited over a quarter of its deadline, and 5 ms; then the newest "
          "first, and a full queue drops its oldest, until the queue keeps within that for "
          "100 ms)");
ABSL_FLAG(double, queue_wait_share_max, kService.queue.overloaded_wait_share_max,
          "while the queue is overloaded, a call that waited longer than this share of its "
          "deadline is refused with RESOURCE_EXHAUSTED / OVERLOADED instead of run (1: never)");
ABSL_FLAG(int64_t, shutdown_grace_ms, 10000,
          "on SIGTERM, how long in-flight calls may take to finish");
ABSL_FLAG(bool, migrate, true, "apply pending schema migrations on start");
ABSL_FLAG(bool, migrate_only, false, "apply pending migrations and exit");
ABSL_FLAG(int64_t, migrate_timeout_ms, 60000,
          "how long to keep trying to reach the database on start");
ABSL_FLAG(int64_t, health_interval_ms, 1000,
          "how often the database is checked for the health service");
ABSL_FLAG(std::string, log_level, "info", "debug, info (one line per call), warn or error");

namespace walletd {
namespace {

absl::Duration MsFlag(const absl::Flag<int64_t>& flag) {
  return absl::Milliseconds(absl::GetFlag(flag));
}

bool ParseQueueOrder(const std::string& text, grpc_adapter::QueueOrder* order) {
  if (text == "fifo") *order = grpc_adapter::QueueOrder::kFifo;
  else if (text == "lifo") *order = grpc_adapter::QueueOrder::kAdaptiveLifo;
  else return false;
  return true;
}

bool ParseIsolation(const std::string& text, Isolation* isolation) {
  if (text == "read-committed") *isolation = Isolation::kReadCommitted;
  else if (text == "repeatable-read") *isolation = Isolation::kRepeatableRead;
  else if (text == "serializable") *isolation = Isolation::kSerializable;
  else return false;
  return true;
}

bool IsHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  return colon != std::string::npos && colon > 0 && colon + 1 < address.size() &&
         address.find_first_not_of("0123456789", colon + 1) == std::string::npos;
}

absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(why); }

// A DSN file is small; anything larger is the wrong file.
constexpr size_t kDsnFileBytesMax = 64 * 1024;

// The DSN from --dsn_file, or --dsn. Errors name the file, never its content.
absl::StatusOr<std::string> ReadDsn() {
  const std::string path = absl::GetFlag(FLAGS_dsn_file);
  if (path.empty()) return absl::GetFlag(FLAGS_dsn);
  const absl::CommandLineFlag* dsn_flag = absl::FindCommandLineFlag("dsn");
  if (dsn_flag != nullptr && dsn_flag->CurrentValue() != dsn_flag->DefaultValue()) {
    return Invalid("give --dsn (WALLETD_DSN) or --dsn_file, not both");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid(absl::StrCat("--dsn_file: cannot open ", path));
  std::string dsn(kDsnFileBytesMax + 1, '\0');
  in.read(dsn.data(), static_cast<std::streamsize>(dsn.size()));
  dsn.resize(static_cast<size_t>(in.gcount()));
  if (in.bad() || dsn.size() > kDsnFileBytesMax) {
    return Invalid(absl::StrCat("--dsn_file: cannot read ", path, ", or it is over ",
                                kDsnFileBytesMax, " bytes"));
  }
  while (!dsn.empty() && (dsn.back() == '\n' || dsn.back() == '\r')) dsn.pop_back();
  if (dsn.empty()) return Invalid(absl::StrCat("--dsn_file: ", path, " is empty"));
  return dsn;
}

}  // namespace

bool IsWalletdFlagFile(absl::string_view filename) {
  return absl::EndsWith(filename, "cmd/walletd/config.cc");
}

absl::Status ApplyEnvironment() {
  // Only walletd's own flags: Abseil's (--flagfile, --help...) are not settable so.
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsWalletdFlagFile(flag->Filename())) continue;
    const std::string var = absl::StrCat("WALLETD_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) continue;
    std::string why;
    // Abseil's reason quotes the value, which may be a secret: name the variable alone.
    if (!flag->ParseFrom(value, &why)) {
      return Invalid(absl::StrCat(var, " is not a valid value for --", name));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> ConfigFromFlags() {
  Config c;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &c.log_level)) {
    return Invalid("--log_level must be debug, info, warn or error");
  }
  if (!ParseIsolation(absl::GetFlag(FLAGS_isolation), &c.tx.isolation)) {
    return Invalid("--isolation must be read-committed, repeatable-read or serializable");
  }
  if (!ParseQueueOrder(absl::GetFlag(FLAGS_queue_order), &c.service.queue.order) ||
      !(absl::GetFlag(FLAGS_queue_wait_share_max) > 0)) {
    return Invalid("--queue_order must be fifo or lifo, --queue_wait_share_max > 0");
  }
  c.service.queue.overloaded_wait_share_max = absl::GetFlag(FLAGS_queue_wait_share_max);
  c.listen = absl::GetFlag(FLAGS_listen);
  c.insecure = absl::GetFlag(FLAGS_insecure);
  c.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (!c.metrics_listen.empty() && !IsHostPort(c.metrics_listen)) {
    return Invalid("--metrics_listen must be empty or host:port");
  }
  c.tls.cert_path = absl::GetFlag(FLAGS_tls_cert);
  c.tls.key_path = absl::GetFlag(FLAGS_tls_key);
  c.tls.client_ca_path = absl::GetFlag(FLAGS_tls_client_ca);
  if (c.tls.cert_path.empty() != c.tls.key_path.empty()) {
    return Invalid("--tls_cert and --tls_key go together: give both or neither");
  }
  if (c.tls.mutual() && !c.tls.enabled()) {
    return Invalid("--tls_client_ca needs --tls_cert and --tls_key");
  }
  c.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  // Plaintext or unauthenticated callers only when asked for: say everything that is missing.
  if (!c.insecure && (!c.tls.enabled() || c.tokens_file.empty())) {
    std::vector<std::string> missing;
    if (!c.tls.enabled()) missing.push_back("no TLS certificate: give --tls_cert and --tls_key");
    if (c.tokens_file.empty()) {
      missing.push_back(
          "no --tokens_file (WALLETD_TOKENS_FILE): callers could not be authenticated");
    }
    return Invalid(absl::StrCat(
        absl::StrJoin(missing, "; "),
        ". Or --insecure (WALLETD_INSECURE=true) for local development: plaintext without a "
        "certificate, and every caller may do everything without a tokens file"));
  }
  absl::StatusOr<std::string> dsn = ReadDsn();
  if (!dsn.ok()) return dsn.status();
  c.dsn = *std::move(dsn);
  // libpq's own words on a malformed string quote pieces of it, password included: say nothing
  // of its content.
  if (!pg::ValidDsn(c.dsn)) {
    return Invalid("the DSN (--dsn, WALLETD_DSN or --dsn_file) is no libpq connection string");
  }

  c.pool.dsn = c.dsn;
  c.pool.size_min = absl::GetFlag(FLAGS_pool_min);
  c.pool.size_max = absl::GetFlag(FLAGS_pool_max);
  c.pool.acquire_wait_max = MsFlag(FLAGS_pool_acquire_timeout_ms);
  c.pool.connect_timeout = MsFlag(FLAGS_connect_timeout_ms);
  c.timeouts.statement_max = MsFlag(FLAGS_statement_timeout_ms);
  c.retry.attempts_max = absl::GetFlag(FLAGS_tx_attempts_max);
  c.retry.backoff_base = MsFlag(FLAGS_tx_backoff_base_ms);
  c.retry.backoff_max = MsFlag(FLAGS_tx_backoff_max_ms);
  if (c.pool.size_max < 1 || c.pool.size_min < 0 || c.pool.size_min > c.pool.size_max ||
      absl::GetFlag(FLAGS_queue_max) < 0 || c.retry.attempts_max < 1) {
    return Invalid(
        "need 0 <= pool_min <= pool_max, 1 <= pool_max, 0 <= queue_max, 1 <= tx_attempts_max");
  }

  c.service.default_deadline = MsFlag(FLAGS_default_deadline_ms);
  c.service.running_max =
      absl::GetFlag(FLAGS_workers) > 0 ? absl::GetFlag(FLAGS_workers) : c.pool.size_max;
  c.service.queued_max = absl::GetFlag(FLAGS_queue_max);

  c.shutdown_grace = MsFlag(FLAGS_shutdown_grace_ms);
  c.health_interval = MsFlag(FLAGS_health_interval_ms);
  c.migrate = absl::GetFlag(FLAGS_migrate);
  c.migrate_only = absl::GetFlag(FLAGS_migrate_only);
  c.migrate_timeout = MsFlag(FLAGS_migrate_timeout_ms);
  return c;
}

}  // namespace walletd
