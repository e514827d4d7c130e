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

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/grpc/library_log.h"
#include "adapters/grpc/tls.h"
#include "adapters/grpc/wallet_service.h"
#include "adapters/postgres/migrator.h"
#include "adapters/postgres/pool.h"
#include "adapters/postgres/repositories.h"
#include "adapters/postgres/transactor.h"
#include "adapters/prometheus/prometheus_metrics.h"
#include "adapters/system/log.h"
#include "adapters/system/system.h"
#include "cmd/walletd/config.h"
#include "domain/text.h"
#include "grpc/health/v1/health.pb.h"

namespace walletd {
namespace {

// gRPC's and protobuf's own log lines pass at most this many per window.
constexpr int kLibraryLinesMax = 50;
constexpr absl::Duration kLibraryLinesWindow = absl::Seconds(1);

// What walletd_build_info says; the build system defines them.
prometheus_adapter::BuildInfo ThisBuild() {
  return {WALLETD_VERSION, WALLETD_BUILD_TYPE, WALLETD_COMPILER};
}

// Applies migrations, waiting for the database to come up for at most migrate_timeout_ms.
absl::Status MigrateWhenReachable(const Config& config, Logger& log) {
  const std::string& dsn = config.dsn;
  const absl::Time give_up = absl::Now() + config.migrate_timeout;
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

// The service's parts, wired: the Postgres adapter, the use cases on its ports and the gRPC
// service on the use cases. Members are built in order and torn down in reverse.
struct Assembly {
  Assembly(const Config& config,
           std::shared_ptr<grpc_adapter::TlsServerCredentials> tls_credentials,
           std::unique_ptr<grpc_adapter::Authenticator> authenticator, Logger& log)
      : tls(std::move(tls_credentials)),
        prometheus(config.metrics_listen.empty()
                       ? nullptr
                       : std::make_unique<prometheus_adapter::PrometheusMetrics>(ThisBuild())),
        metrics(prometheus ? *prometheus : NoMetrics()),
        pool(config.pool, metrics),
        executor(pool, config.timeouts),
        transactor(pool, config.timeouts, config.retry, metrics),
        wallets(executor),
        transfers(executor),
        move{transactor, wallets, transfers, clock, ids, config.tx},
        create_wallet(wallets, clock, ids),
        deposit(move),
        withdraw(move),
        transfer(move),
        balance(wallets),
        get_transfer(transfers),
        list_transfers(wallets, transfers),
        auth(std::move(authenticator)),
        service({create_wallet, deposit, withdraw, transfer, balance, get_transfer,
                 list_transfers},
                config.service, *auth, log, metrics),
        pool_max(config.pool.size_max) {
    if (tls != nullptr) reloaders.push_back([this, &log] { ReloadTls(log); });
    reloaders.push_back([this, &config, &log] {
      if (config.tokens_file.empty()) return;
      absl::StatusOr<size_t> tokens = auth->Reload();
      if (tokens.ok()) {
        log.Log(LogLevel::kInfo, "tokens reloaded", {{"tokens", static_cast<int64_t>(*tokens)}});
      } else {
        // The message names the file and the line, never a line's text.
        log.Log(LogLevel::kError, "tokens file refused; the previous tokens stay",
                {{"error", AsStd(tokens.status().message())}});
      }
    });
  }

  // New handshakes use the files as they are now; a bad set is logged and the previous one kept.
  void ReloadTls(Logger& log) {
    if (absl::Status reloaded = tls->Reload(); !reloaded.ok()) {
      log.Log(LogLevel::kWarn, "TLS files not reloaded; the previous ones stay in use",
              {{"error", LogText(reloaded)}});
      return;
    }
    log.Log(LogLevel::kInfo, "TLS files reloaded",
            {{"cert_not_after", absl::FormatTime(tls->Current().cert_not_after)}});
  }

  // What the metrics read at each scrape, on the metrics listener's threads.
  prometheus_adapter::Snapshot Sample() const {
    const pg::Pool::Stats db = pool.stats();
    const grpc_adapter::WalletService::Load load = service.load();
    prometheus_adapter::Snapshot s;
    s.calls_running = load.running;
    s.calls_queued = load.queued;
    s.pool_connections = db.open;
    s.pool_idle = db.idle;
    s.pool_max = pool_max;
    s.pool_waiting = db.waiting;
    s.connections_opened = db.opened;
    s.connections_closed = db.closed;
    s.connect_failures = db.connect_failures;
    s.acquire_timeouts = db.exhausted;
    s.round_trips = pg::Connection::RoundTrips();
    return s;
  }

  // The server's TLS credentials (null: plaintext); they outlive the server, which calls into
  // them on every handshake.
  std::shared_ptr<grpc_adapter::TlsServerCredentials> tls;
  // Metrics: Prometheus with --metrics_listen, else none.
  std::unique_ptr<prometheus_adapter::PrometheusMetrics> prometheus;
  Metrics& metrics;
  // Driven side: PostgreSQL, the clock and ids.
  pg::Pool pool;
  pg::Executor executor;
  pg::Transactor transactor;
  pg::WalletRepository wallets;
  pg::TransferRepository transfers;
  SystemClock clock;
  UuidV7Generator ids;
  // The core.
  MovePorts move;
  CreateWalletHandler create_wallet;
  DepositHandler deposit;
  WithdrawHandler withdraw;
  TransferHandler transfer;
  BalanceHandler balance;
  GetTransferHandler get_transfer;
  ListTransfersHandler list_transfers;
  // Driving side: gRPC, and who may call it.
  std::unique_ptr<grpc_adapter::Authenticator> auth;
  grpc_adapter::WalletService service;
  const int pool_max;
  // Run on SIGHUP, on the serving thread, in order; each logs what it did and keeps its previous
  // state when the new one is unusable.
  std::vector<std::function<void()>> reloaders;
};

// The gRPC server with the wallet service, health and reflection, listening on config.listen (TLS
// when configured); nullptr when it cannot listen. `*port` is the port it got.
std::unique_ptr<::grpc::Server> StartGrpcServer(const Config& config, Assembly& app, int* port) {
  ::grpc::EnableDefaultHealthCheckService(true);
  // gRPC's health service is not built from protobuf code, so reflection could not describe it
  // (grpcurl ... grpc.health.v1.Health/Check would fail); this pulls its descriptor in.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort(
      config.listen,
      app.tls != nullptr ? std::shared_ptr<::grpc::ServerCredentials>(app.tls)
                         : ::grpc::InsecureServerCredentials(),
      port);
  app.service.Register(builder);  // Sets the transport's size limit too.
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *port == 0) return nullptr;
  return server;
}

// Serves until SIGTERM or SIGINT, then stops gracefully: health says NOT_SERVING, in-flight calls
// get shutdown_grace to finish, the rest are cancelled. Returns the exit code.
int Serve(const Config& config, Assembly& app, Logger& log) {
  // Stops serving when Serve returns, before the parts it reads are torn down.
  std::unique_ptr<prometheus_adapter::MetricsServer> metrics_server;
  if (app.prometheus != nullptr) {
    auto served = app.prometheus->Serve(config.metrics_listen, [&app] { return app.Sample(); });
    if (!served.ok()) {
      log.Log(LogLevel::kError, "cannot serve metrics", {{"error", LogText(served.status())}});
      return 1;
    }
    metrics_server = *std::move(served);
    log.Log(LogLevel::kInfo, "serving metrics", {{"address", metrics_server->address()}});
  }
  int port = 0;
  std::unique_ptr<::grpc::Server> server = StartGrpcServer(config, app, &port);
  if (server == nullptr) {
    log.Log(LogLevel::kError, "cannot listen", {{"address", config.listen}});
    return 1;
  }
  app.service.Start();
  const std::string address =
      absl::StrCat(config.listen.substr(0, config.listen.rfind(':')), ":", port);
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
  // SIGHUP re-reads what may change while serving (certificates, tokens); calls go on meanwhile.
  boost::asio::signal_set reload_signals(io, SIGHUP);
  // Installed before anything can take long, so a SIGTERM from now on means a graceful stop.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    stopping = true;
    health_timer.cancel();
    reload_signals.cancel();
    log.Log(LogLevel::kInfo, "shutting down", {{"signal", static_cast<int64_t>(signal)}});
  });
  std::function<void()> await_reload = [&] {
    reload_signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec || stopping) return;
      log.Log(LogLevel::kInfo, "reloading on SIGHUP");
      for (const std::function<void()>& reload : app.reloaders) reload();
      await_reload();
    });
  };
  await_reload();
  std::function<void()> check_health = [&] {
    if (stopping) return;
    const absl::Duration interval = config.health_interval;
    const bool ok = app.pool.Ping(absl::Now() + interval, /*fresh=*/interval).ok();
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
  const char* tls = app.tls == nullptr ? "off" : config.tls.mutual() ? "mutual" : "on";
  log.Log(LogLevel::kInfo, "listening",
          {{"address", address},
           {"tls", tls},
           {"workers", static_cast<int64_t>(config.service.running_max)},
           {"pool_max", static_cast<int64_t>(config.pool.size_max)}});

  io.run();

  // Stop accepting, let in-flight calls finish within the grace period, then cancel the rest.
  set_serving(false);
  // The metrics listener takes up to 2 s to stop (civetweb looks at its sockets that seldom):
  // it stops while the calls drain, not after them.
  std::thread metrics_stopper([&metrics_server] { metrics_server.reset(); });
  app.service.Shutdown(*server, absl::Now() + config.shutdown_grace);
  app.pool.Close();
  metrics_stopper.join();
  log.Log(LogLevel::kInfo, "stopped");
  return 0;
}

int Run(const Config& config, std::shared_ptr<grpc_adapter::TlsServerCredentials> tls) {
  // Never destroyed: gRPC's and protobuf's own threads may log until the process ends.
  Logger& log = *new JsonLogger(config.log_level);
  // Their lines in the same JSON stream, and few enough that no client can flood it.
  grpc_adapter::RouteLibraryLogs(
      new RateLimitedLogger(log, kLibraryLinesMax, kLibraryLinesWindow));

  // Before anything else: a walletd that cannot tell its callers apart must not serve.
  std::unique_ptr<grpc_adapter::Authenticator> auth;
  if (config.tokens_file.empty()) {
    log.Log(LogLevel::kWarn, "--insecure without --tokens_file: every caller may do everything");
    auth = grpc_adapter::Authenticator::Open("insecure");
  } else {
    absl::StatusOr<std::unique_ptr<grpc_adapter::Authenticator>> loaded =
        grpc_adapter::Authenticator::FromFile(config.tokens_file);
    if (!loaded.ok()) {
      log.Log(LogLevel::kError, "tokens file refused", {{"error", AsStd(loaded.status().message())}});
      return 2;
    }
    auth = *std::move(loaded);
  }

  if (config.migrate || config.migrate_only) {
    absl::Status migrated = MigrateWhenReachable(config, log);
    if (!migrated.ok()) {
      log.Log(LogLevel::kError, "migrations failed", {{"error", LogText(migrated)}});
      return 1;
    }
    if (config.migrate_only) return 0;
  }
  Assembly app(config, std::move(tls), std::move(auth), log);
  app.pool.StartMaintenance();
  return Serve(config, app, log);
}

}  // namespace
}  // namespace walletd

int main(int argc, char** argv) {
  // Debian's Abseil checks every absl::Mutex (gRPC's included) for lock-order cycles, a debugging
  // aid that cost about 2% of walletd's CPU under load.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = walletd::IsWalletdFlagFile;
  usage.contains_helpshort_flags = walletd::IsWalletdFlagFile;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "wallets and money transfers over gRPC, on PostgreSQL.\n"
      "Every flag can also be set as WALLETD_<FLAG> in the environment (e.g. WALLETD_LISTEN,\n"
      "WALLETD_DSN); the command line wins.\n"
      "  walletd --dsn='host=/tmp/pg dbname=walletd' --listen=127.0.0.1:50051");
  if (absl::Status env = walletd::ApplyEnvironment(); !env.ok()) {
    std::cerr << "walletd: bad environment: " << env.message() << "\n";
    return 2;
  }
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<walletd::Config> config = walletd::ConfigFromFlags();
  if (!config.ok()) {
    std::cerr << "walletd: " << config.status().message() << "\n";
    return 2;
  }
  // The certificate files are read before anything else starts, so a bad one stops walletd at
  // once with a message that names it.
  std::shared_ptr<walletd::grpc_adapter::TlsServerCredentials> tls;
  if (config->tls.enabled()) {
    auto loaded = walletd::grpc_adapter::TlsServerCredentials::Load(config->tls);
    if (!loaded.ok()) {
      std::cerr << "walletd: " << loaded.status().message() << "\n";
      return 2;
    }
    tls = *std::move(loaded);
  }
  return walletd::Run(*config, std::move(tls));
}
