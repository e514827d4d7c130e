// walletd: the composition root. Reads the configuration, migrates the schema, wires the Postgres
// adapter, the use cases and the gRPC service together, serves until SIGTERM or SIGINT, and shuts
// down gracefully.

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/grpcpp.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/grpc/library_log.h"
#include "adapters/grpc/wallet_service.h"
#include "adapters/postgres/migrator.h"
#include "adapters/postgres/pool.h"
#include "adapters/postgres/repositories.h"
#include "adapters/postgres/transactor.h"
#include "adapters/system/log.h"
#include "adapters/system/system.h"
#include "domain/text.h"
#include "grpc/health/v1/health.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, dsn, "dbname=walletd", "libpq connection string of the PostgreSQL database");
ABSL_FLAG(int, pool_min, 2, "database connections kept open even when idle");
ABSL_FLAG(int, pool_max, 8,
          "database connections at most; a few per database CPU core (more only adds lock and "
          "scheduling contention)");
ABSL_FLAG(int, pool_acquire_timeout_ms, 1000, "longest wait for a free database connection");
ABSL_FLAG(int, connect_timeout_ms, 5000, "longest a database connection attempt may take");
ABSL_FLAG(int, statement_timeout_ms, 10000, "longest any one SQL statement may run");
ABSL_FLAG(int, default_deadline_ms, 10000, "deadline of a call that brings none");
ABSL_FLAG(int, tx_attempts_max, 5, "runs of a transaction on serialization failure or deadlock");
ABSL_FLAG(int, tx_backoff_base_ms, 2, "first retry backoff ceiling (full jitter, doubling)");
ABSL_FLAG(int, tx_backoff_max_ms, 100, "largest retry backoff ceiling");
ABSL_FLAG(std::string, isolation, "read-committed",
          "transaction isolation: read-committed, repeatable-read or serializable");
ABSL_FLAG(int, workers, 0, "threads running calls (0: as many as pool_max)");
ABSL_FLAG(int, queue_max, 128, "calls waiting for a worker before new ones get RESOURCE_EXHAUSTED");
ABSL_FLAG(std::string, queue_order, "lifo",
          "which waiting call runs next: fifo, or lifo (first in, first out until the oldest "
          "waiting call has waited over a quarter of its deadline, and 5 ms; then the newest "
          "first, and a full queue drops its oldest, until the queue keeps within that for "
          "100 ms)");
ABSL_FLAG(double, queue_wait_share_max, 0.5,
          "while the queue is overloaded, a call that waited longer than this share of its "
          "deadline is refused with RESOURCE_EXHAUSTED / OVERLOADED instead of run (1: never)");
ABSL_FLAG(int, shutdown_grace_ms, 10000, "on SIGTERM, how long in-flight calls may take to finish");
ABSL_FLAG(bool, migrate, true, "apply pending schema migrations on start");
ABSL_FLAG(bool, migrate_only, false, "apply pending migrations and exit");
ABSL_FLAG(int, migrate_timeout_ms, 60000, "how long to keep trying to reach the database on start");
ABSL_FLAG(int, health_interval_ms, 1000, "how often the database is checked for the health service");
ABSL_FLAG(std::string, log_level, "info", "debug, info (one line per call), warn or error");

namespace walletd {
namespace {

// gRPC's and protobuf's own log lines pass at most this many per window.
constexpr int kLibraryLinesMax = 50;
constexpr absl::Duration kLibraryLinesWindow = absl::Seconds(1);

constexpr const char* kFlagNames[] = {
    "listen", "dsn", "pool_min", "pool_max", "pool_acquire_timeout_ms", "connect_timeout_ms",
    "statement_timeout_ms", "default_deadline_ms", "tx_attempts_max", "tx_backoff_base_ms",
    "tx_backoff_max_ms", "isolation", "workers", "queue_max", "queue_order",
    "queue_wait_share_max", "shutdown_grace_ms", "migrate", "migrate_only", "migrate_timeout_ms",
    "health_interval_ms", "log_level"};

// Every flag may also come from WALLETD_<FLAG> in the environment; the command line wins.
bool ApplyEnvironment(std::string* error) {
  for (const char* name : kFlagNames) {
    const std::string var = absl::StrCat("WALLETD_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string why;
    if (flag == nullptr || !flag->ParseFrom(value, &why)) {
      *error = absl::StrCat(var, ": ", why);
      return false;
    }
  }
  return true;
}

absl::Duration Ms(const absl::Flag<int>& flag) { return absl::Milliseconds(absl::GetFlag(flag)); }

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

// Applies migrations, waiting for the database to come up for at most migrate_timeout_ms.
absl::Status MigrateWhenReachable(const std::string& dsn, Logger& log) {
  const absl::Time give_up = absl::Now() + Ms(FLAGS_migrate_timeout_ms);
  absl::Duration pause = absl::Milliseconds(100);
  while (true) {
    std::vector<int> applied;
    absl::Status status = pg::Migrate(dsn, pg::EmbeddedMigrations(), give_up, &applied);
    if (status.ok()) {
      log.Log(LogLevel::kInfo, "migrations applied",
              {{"applied", static_cast<int64_t>(applied.size())},
               {"known", static_cast<int64_t>(pg::EmbeddedMigrations().size())}});
      return status;
    }
    if (status.code() != absl::StatusCode::kUnavailable || absl::Now() + pause >= give_up) {
      return status;
    }
    log.Log(LogLevel::kWarn, "database not reachable yet; retrying",
            {{"error", LogText(status)}});
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Seconds(2));
  }
}

int Run() {
  LogLevel level;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::cerr << "walletd: --log_level must be debug, info, warn or error\n";
    return 2;
  }
  Isolation isolation;
  if (!ParseIsolation(absl::GetFlag(FLAGS_isolation), &isolation)) {
    std::cerr << "walletd: --isolation must be read-committed, repeatable-read or serializable\n";
    return 2;
  }
  grpc_adapter::QueueOrder queue_order;
  if (!ParseQueueOrder(absl::GetFlag(FLAGS_queue_order), &queue_order) ||
      !(absl::GetFlag(FLAGS_queue_wait_share_max) > 0)) {
    std::cerr << "walletd: --queue_order must be fifo or lifo, --queue_wait_share_max > 0\n";
    return 2;
  }
  const int pool_max = absl::GetFlag(FLAGS_pool_max);
  const int workers_count = absl::GetFlag(FLAGS_workers) > 0 ? absl::GetFlag(FLAGS_workers) : pool_max;
  if (pool_max < 1 || absl::GetFlag(FLAGS_pool_min) < 0 || absl::GetFlag(FLAGS_pool_min) > pool_max ||
      absl::GetFlag(FLAGS_queue_max) < 0 || absl::GetFlag(FLAGS_tx_attempts_max) < 1) {
    std::cerr << "walletd: need 0 <= pool_min <= pool_max, 1 <= pool_max, 0 <= queue_max, "
                 "1 <= tx_attempts_max\n";
    return 2;
  }
  // Never destroyed: gRPC's and protobuf's own threads may log until the process ends.
  Logger& log = *new JsonLogger(level);
  // Their lines in the same JSON stream, and few enough that no client can flood it.
  grpc_adapter::RouteLibraryLogs(
      new RateLimitedLogger(log, kLibraryLinesMax, kLibraryLinesWindow));
  const std::string dsn = absl::GetFlag(FLAGS_dsn);

  if (absl::GetFlag(FLAGS_migrate) || absl::GetFlag(FLAGS_migrate_only)) {
    absl::Status migrated = MigrateWhenReachable(dsn, log);
    if (!migrated.ok()) {
      log.Log(LogLevel::kError, "migrations failed",
              {{"error", LogText(migrated)}});
      return 1;
    }
    if (absl::GetFlag(FLAGS_migrate_only)) return 0;
  }

  // Driven side: PostgreSQL.
  pg::PoolOptions pool_options;
  pool_options.dsn = dsn;
  pool_options.size_min = absl::GetFlag(FLAGS_pool_min);
  pool_options.size_max = pool_max;
  pool_options.acquire_wait_max = Ms(FLAGS_pool_acquire_timeout_ms);
  pool_options.connect_timeout = Ms(FLAGS_connect_timeout_ms);
  pg::Pool pool(pool_options);
  pool.StartMaintenance();
  pg::Timeouts timeouts;
  timeouts.statement_max = Ms(FLAGS_statement_timeout_ms);
  pg::RetryOptions retry;
  retry.attempts_max = absl::GetFlag(FLAGS_tx_attempts_max);
  retry.backoff_base = Ms(FLAGS_tx_backoff_base_ms);
  retry.backoff_max = Ms(FLAGS_tx_backoff_max_ms);
  pg::Executor executor(pool, timeouts);
  pg::Transactor transactor(pool, timeouts, retry);
  pg::WalletRepository wallets(executor);
  pg::TransferRepository transfers(executor);
  SystemClock clock;
  UuidV7Generator ids;

  // The core.
  TxOptions tx_options;
  tx_options.isolation = isolation;
  MovePorts move{transactor, wallets, transfers, clock, ids, tx_options};
  CreateWalletHandler create_wallet(wallets, clock, ids);
  DepositHandler deposit(move);
  WithdrawHandler withdraw(move);
  TransferHandler transfer(move);
  BalanceHandler balance(wallets);
  GetTransferHandler get_transfer(transfers);
  ListTransfersHandler list_transfers(wallets, transfers);

  // Driving side: gRPC.
  grpc_adapter::ServiceOptions service_options;
  service_options.default_deadline = Ms(FLAGS_default_deadline_ms);
  service_options.running_max = workers_count;
  service_options.queued_max = absl::GetFlag(FLAGS_queue_max);
  service_options.queue.order = queue_order;
  service_options.queue.overloaded_wait_share_max = absl::GetFlag(FLAGS_queue_wait_share_max);
  grpc_adapter::WalletService service(
      {create_wallet, deposit, withdraw, transfer, balance, get_transfer, list_transfers},
      service_options, log);

  ::grpc::EnableDefaultHealthCheckService(true);
  // gRPC's health service is not built from protobuf code, so reflection could not describe it
  // (grpcurl ... grpc.health.v1.Health/Check would fail); this pulls its descriptor in.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), ::grpc::InsecureServerCredentials(), &port);
  service.Register(builder);  // Sets the transport's size limit too.
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    log.Log(LogLevel::kError, "cannot listen", {{"address", absl::GetFlag(FLAGS_listen)}});
    return 1;
  }
  service.Start();
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string address = absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port);
  ::grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  auto set_serving = [health](bool serving) {
    health->SetServingStatus(serving);
    health->SetServingStatus("wallet.v1.WalletService", serving);
  };
  set_serving(false);  // Until the first database check passes.

  // Signals and the health timer run on one Asio loop on this thread.
  boost::asio::io_context io;
  bool stopping = false;
  bool serving = false;
  boost::asio::steady_timer health_timer(io);
  // Installed before anything can take long, so a SIGTERM from now on means a graceful stop.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    stopping = true;
    health_timer.cancel();
    log.Log(LogLevel::kInfo, "shutting down", {{"signal", static_cast<int64_t>(signal)}});
  });
  std::function<void()> check_health = [&] {
    if (stopping) return;
    const absl::Duration interval = Ms(FLAGS_health_interval_ms);
    const bool ok = pool.Ping(absl::Now() + interval, /*fresh=*/interval).ok();
    if (ok != serving) {
      serving = ok;
      set_serving(ok);
      log.Log(ok ? LogLevel::kInfo : LogLevel::kWarn, ok ? "database reachable: SERVING"
                                                         : "database unreachable: NOT_SERVING");
    }
    health_timer.expires_after(absl::ToChronoMilliseconds(interval));
    health_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) check_health();
    });
  };
  check_health();  // Before announcing the address, so the first health answer is already true.
  log.Log(LogLevel::kInfo, "listening",
          {{"address", address}, {"workers", static_cast<int64_t>(workers_count)},
           {"pool_max", static_cast<int64_t>(pool_max)}});

  io.run();

  // Stop accepting, let in-flight calls finish within the grace period, then cancel the rest.
  set_serving(false);
  service.Shutdown(*server, absl::Now() + Ms(FLAGS_shutdown_grace_ms));
  pool.Close();
  log.Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace walletd

int main(int argc, char** argv) {
  // Debian's Abseil checks every absl::Mutex (gRPC's included) for lock-order cycles, a debugging
  // aid that cost about 2% of walletd's CPU under load.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "wallets and money transfers over gRPC, on PostgreSQL.\n"
      "Every flag can also be set as WALLETD_<FLAG> in the environment (e.g. WALLETD_LISTEN,\n"
      "WALLETD_DSN); the command line wins.\n"
      "  walletd --dsn='host=/tmp/pg dbname=walletd' --listen=127.0.0.1:50051");
  std::string error;
  if (!walletd::ApplyEnvironment(&error)) {
    std::cerr << "walletd: bad environment: " << error << "\n";
    return 2;
  }
  absl::ParseCommandLine(argc, argv);
  return walletd::Run();
}
