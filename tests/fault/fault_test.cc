// The fault suite (issue 16): each test runs walletd on a PostgreSQL cluster of its own, drives a
// load of uniquely identified calls, injects one fault, settles every unclear outcome by a retry
// with the same request id and checks the invariants (FaultTest::CheckInvariants). Each test prints
// its figures as "[fault]" lines: calls, faults, outcomes by code and reason, recovery times.

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <future>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/fault/fault_fixture.h"

namespace walletd::testing::fault {
namespace {

using ::grpc::StatusCode;
using HealthStatus = ::grpc::health::v1::HealthCheckResponse;

constexpr int64_t kOpening = 1'000'000'000;  // Enough that no withdrawal or transfer runs dry.

std::string Secs(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "never (bound reached)";
  return absl::StrFormat("%.3f s", absl::ToDoubleSeconds(d));
}

std::string CallsLine(const Load& load, const std::vector<Record>& records) {
  const absl::Duration timeout = load.options().timeout;
  return absl::StrFormat("load: %d clients, %s, %d calls in %.1f s; first answers: %s",
                         load.options().clients,
                         timeout == absl::InfiniteDuration()
                             ? std::string("no deadline sent (walletd's default applies)")
                             : absl::FormatDuration(timeout) + " deadlines",
                         load.calls(), absl::ToDoubleSeconds(load.stopped() - load.started()),
                         FaultTest::Outcomes(records));
}

TEST_F(FaultTest, BackendsTerminatedEvery100msIncludingDuringCommit) {
  ASSERT_NO_FATAL_FAILURE(StartWalletd());
  ASSERT_NO_FATAL_FAILURE(OpenWallets(16, kOpening));
  // A COMMIT takes microseconds here (fsync off): a deferred trigger makes one in four take 20 ms,
  // so that some kills land inside COMMIT.
  ASSERT_TRUE(admin().Query(
      "CREATE FUNCTION fault_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF random() < 0.25 THEN PERFORM pg_sleep(0.02); END IF; RETURN NULL; END $$"));
  ASSERT_TRUE(admin().Query(
      "CREATE CONSTRAINT TRIGGER fault_slow_commit AFTER INSERT ON transfers DEFERRABLE "
      "INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fault_slow_commit()"));
  auto load = StartLoad({.name = "kill", .clients = 8});
  absl::SleepFor(absl::Milliseconds(500));
  Session killer(cluster_->dsn());
  int64_t kills = 0, in_commit = 0;
  const absl::Time first = absl::Now();
  for (int tick = 0; tick < 40; ++tick) {
    absl::SleepFor(first + tick * absl::Milliseconds(100) - absl::Now());
    // Every session in COMMIT, and one more at random.
    const int64_t committing = killer.Int(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
        "application_name = 'walletd' AND state = 'active' AND query ILIKE 'commit%'").value_or(0);
    const int64_t other = killer.Int(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM (SELECT pid FROM "
        "pg_stat_activity WHERE application_name = 'walletd' ORDER BY random() LIMIT 1) p")
        .value_or(0);
    in_commit += committing;
    kills += committing + other;
  }
  const absl::Time last = absl::Now();
  const absl::Duration recovery = Recovery(last, kRecoveryMax);
  absl::SleepFor(absl::Milliseconds(500));
  load->Stop();
  const auto records = Records("kill-");
  Figure(CallsLine(*load, records));
  Figure(absl::StrFormat("fault: %d backends terminated over 40 ticks of 100 ms, %d of them in "
                         "COMMIT",
                         kills, in_commit));
  Figure("recovery after the last kill (under load): " + Secs(recovery));
  EXPECT_GT(in_commit, 0) << "no kill landed inside COMMIT: the test did not test that";
  EXPECT_LE(recovery, kRecoveryMax);
  Settle();
  CheckInvariants();
}

class RestartTest : public FaultTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(RestartTest, UnderLoad) {
  ASSERT_NO_FATAL_FAILURE(StartWalletd());
  ASSERT_NO_FATAL_FAILURE(OpenWallets(16, kOpening));
  auto load = StartLoad({.name = "restart", .clients = 8});
  absl::SleepFor(absl::Milliseconds(1500));
  const absl::Time asked = absl::Now();
  const bool restarted = cluster_->Restart(GetParam());
  const absl::Time back = absl::Now();
  const absl::Duration recovery = Recovery(back, kRecoveryMax);
  absl::SleepFor(absl::Seconds(1));
  load->Stop();
  ASSERT_TRUE(restarted) << "pg_ctl restart -m " << GetParam() << " failed";
  const auto records = Records("restart-");
  Figure(CallsLine(*load, records));
  Figure(absl::StrCat("fault: pg_ctl restart -m ", GetParam(), ", database back after ",
                      Secs(back - asked)));
  Figure("recovery after the database was back (under load): " + Secs(recovery));
  EXPECT_LE(recovery, kRecoveryMax);
  Settle();
  CheckInvariants();
}

INSTANTIATE_TEST_SUITE_P(Modes, RestartTest, ::testing::Values("fast", "immediate"),
                         [](const auto& param_info) { return param_info.param; });

TEST_F(FaultTest, ServerFrozenBySigstopFor3s) {
  ASSERT_NO_FATAL_FAILURE(StartWalletd());
  ASSERT_NO_FATAL_FAILURE(OpenWallets(16, kOpening));
  // Deadlines shorter than the freeze: calls caught in it end unclear.
  auto load = StartLoad({.name = "freeze", .clients = 8, .timeout = absl::Seconds(2)});
  absl::SleepFor(absl::Seconds(1));
  const pid_t postmaster = cluster_->Postmaster();
  ASSERT_GT(postmaster, 0);
  // The postmaster first, so that it forks nothing new meanwhile.
  ASSERT_EQ(kill(postmaster, SIGSTOP), 0);
  const std::vector<pid_t> children = cluster_->Children(postmaster);
  for (pid_t child : children) kill(child, SIGSTOP);
  absl::SleepFor(absl::Seconds(3));
  for (pid_t child : children) kill(child, SIGCONT);
  kill(postmaster, SIGCONT);
  const absl::Time thawed = absl::Now();
  const absl::Duration recovery = Recovery(thawed, kRecoveryMax);
  absl::SleepFor(absl::Seconds(1));
  load->Stop();
  const auto records = Records("freeze-");
  Figure(CallsLine(*load, records));
  Figure(absl::StrFormat("fault: SIGSTOP of the postmaster and its %d children for 3 s",
                         children.size()));
  Figure("recovery after SIGCONT (under load): " + Secs(recovery));
  EXPECT_LE(recovery, kRecoveryMax);
  Settle();
  CheckInvariants();
}

TEST_F(FaultTest, WalletdKilledAndRestarted) {
  ASSERT_NO_FATAL_FAILURE(StartWalletd());
  ASSERT_NO_FATAL_FAILURE(OpenWallets(16, kOpening));
  auto load = StartLoad({.name = "sigkill", .clients = 8});
  absl::SleepFor(absl::Milliseconds(1500));
  walletd_->Signal(SIGKILL);
  ASSERT_EQ(walletd_->Wait(absl::Seconds(10)), 128 + SIGKILL);
  absl::SleepFor(absl::Milliseconds(300));  // The clients meet a closed port meanwhile.
  const absl::Time restarting = absl::Now();
  ASSERT_NO_FATAL_FAILURE(StartWalletd());
  const absl::Time listening = absl::Now();
  const absl::Duration recovery = Recovery(restarting, absl::Seconds(15));
  absl::SleepFor(absl::Milliseconds(1500));
  load->Stop();
  const auto records = Records("sigkill-");
  Figure(CallsLine(*load, records));
  Figure("fault: SIGKILL of walletd under load, then a new walletd (listening after " +
         Secs(listening - restarting) + ")");
  Figure("recovery from the restart to SERVING and a Balance OK: " + Secs(recovery));
  EXPECT_LE(recovery, absl::Seconds(15));
  Settle();
  CheckInvariants();
}

// Issue 16, defect 1: calls whose deadline passes mid-round-trip must cost the pool no connection,
// and no connection may be opened on a caller's deadline and abandoned half-open.
TEST_F(FaultTest, TightDeadlinesDoNotLockOthersOut) {
  ASSERT_NO_FATAL_FAILURE(StartWalletd());
  ASSERT_NO_FATAL_FAILURE(OpenWallets(16, kOpening));
  // The postmaster logs every connection it accepts, half-open ones included.
  ASSERT_TRUE(admin().Query("ALTER SYSTEM SET log_connections = on"));
  ASSERT_TRUE(admin().Query("SELECT pg_reload_conf()"));
  absl::SleepFor(absl::Milliseconds(300));
  const std::string server_log = cluster_->dir() + "/server.log";
  auto received = [&] {
    std::ifstream log(server_log);
    int64_t n = 0;
    for (std::string line; std::getline(log, line);) {
      n += line.find("connection received") != std::string::npos;
    }
    return n;
  };
  // pg_stat_database.sessions counts sessions established; read outside any cached snapshot.
  const std::string sessions_sql =
      "SELECT sessions FROM pg_stat_database, pg_stat_clear_snapshot() WHERE datname = 'walletd'";
  const std::optional<int64_t> sessions_before = admin().Int(sessions_sql);
  ASSERT_TRUE(sessions_before.has_value());
  const int64_t received_before = received();

  auto load = StartLoad({.name = "tight", .clients = 16, .timeout = absl::Milliseconds(30)});
  absl::SleepFor(absl::Seconds(5));
  load->Stop();
  const absl::Time stopped = load->stopped();
  // From the moment the load stopped, side by side: a new session of another client, and walletd.
  auto connect = std::async(std::launch::async, [&] {
    PGconn* conn = PQconnectdb((cluster_->dsn() + " connect_timeout=30").c_str());
    bool ok = PQstatus(conn) == CONNECTION_OK;
    if (ok) {
      PGresult* result = PQexec(conn, "SELECT 1");
      ok = PQresultStatus(result) == PGRES_TUPLES_OK;
      PQclear(result);
    }
    PQfinish(conn);
    return ok ? absl::Now() - stopped : absl::InfiniteDuration();
  });
  const absl::Duration recovery = Recovery(stopped, absl::Seconds(30));
  const absl::Duration connected = connect.get();
  // Backends report their session to the statistics when they first go idle or exit.
  absl::SleepFor(absl::Seconds(2));
  const std::optional<int64_t> sessions_after = admin().Int(sessions_sql);
  ASSERT_TRUE(sessions_after.has_value());
  const int64_t opened = *sessions_after - *sessions_before - 1;  // Less the connect check's.
  const int64_t accepted = received() - received_before - 1;

  const auto records = Records("tight-");
  Figure(CallsLine(*load, records));
  Figure(absl::StrFormat("sessions opened during the load: %d (pool_max %d); connections the "
                         "postmaster accepted: %d",
                         opened, kPoolMax, accepted));
  Figure("after the load: a new session answered after " + Secs(connected) +
         ", walletd SERVING with a Balance OK after " + Secs(recovery));
  EXPECT_LE(opened, kPoolMax) << "walletd opened more sessions than its pool holds";
  EXPECT_LE(connected, absl::Seconds(1)) << "another client could not get in";
  EXPECT_LE(recovery, absl::Seconds(1)) << "walletd did not answer normally at once";
  Settle();
  CheckInvariants();
}

// Issue 16, defect 8: at 200 in flight with 50 ms deadlines, goodput (reported, the target being half
// of what the same load gets with 5 s deadlines), and nothing committed for a call dequeued after
// its deadline (asserted).
//
// The checkable form of the latter needs the deadline walletd holds, which a gRPC deadline does not
// give exactly: it travels as a relative grpc-timeout, and on a saturated machine walletd was seen
// holding deadlines over 100 ms later than the client's. So a third run sends no deadline and
// walletd applies --default_deadline_ms=50 from the moment it takes the call, which its call log
// line (found by the x-request-id each call sends) also starts queued_ms from: a call with
// queued_ms > 50 was dequeued after its deadline. For every transfer in the ledger committed by
// the first call of its request id (that call answered OK, or the first retry answered replayed),
// that call's queued_ms must be at most 50. The 50 ms gRPC-deadline run's figures are printed.
//
// walletd and PostgreSQL run at a lower priority than the test's clients, as if the clients had
// machines of their own: a starved client sends inflated grpc-timeouts.
TEST_F(FaultTest, OverloadKeepsGoodputAndCommitsNothingDequeuedLate) {
  constexpr double kWalletdDeadlineMs = 50;
  ASSERT_NO_FATAL_FAILURE(YieldToClients());
  ASSERT_NO_FATAL_FAILURE(StartWalletd({"--default_deadline_ms=50"}));
  ASSERT_NO_FATAL_FAILURE(OpenWallets(64, kOpening));
  auto run = [&](const std::string& name, absl::Duration timeout) {
    auto load = StartLoad({.name = name, .clients = 200, .timeout = timeout});
    absl::SleepFor(absl::Seconds(3));
    load->Stop();
    int64_t ok = 0;
    const auto records = Records(name + "-");
    for (const Record& record : records) {
      const Attempt& first = record.attempts.front();
      ok += first.code == StatusCode::OK && first.answered <= load->stopped();
    }
    Figure(CallsLine(*load, records));
    return static_cast<double>(ok) / absl::ToDoubleSeconds(load->stopped() - load->started());
  };
  const double patient = run("patient", absl::Seconds(5));
  const double hurried = run("hurried", absl::Milliseconds(50));
  const double timed = run("timed", absl::InfiniteDuration());
  Figure(absl::StrFormat("goodput: %.0f OK/s with 50 ms deadlines, %.0f OK/s with 5 s deadlines "
                         "(ratio %.3f; the target is 0.5); %.0f OK/s with walletd's own 50 ms",
                         hurried, patient, patient > 0 ? hurried / patient : 0.0, timed));
  // Goodput is a speed, and on a shared 2-core machine it swings with whatever else runs: it is
  // reported above, not asserted (the target of 0.5 is not met yet: docs/reliability.md).
  // What is asserted is what walletd guarantees whatever the load: calls are answered, something
  // commits, and nothing commits that was dequeued after its deadline (below).
  EXPECT_GT(hurried + timed, 0) << "nothing succeeded under overload";
  Settle();

  // walletd's call log: queued_ms by call id.
  std::map<std::string, double> queued_ms;
  for (const std::string& line : walletd_->Lines()) {
    if (line.find("\"msg\":\"call\"") == std::string::npos) continue;
    auto field = [&](const std::string& name) {
      const std::string key = "\"" + name + "\":";
      const size_t at = line.find(key);
      if (at == std::string::npos) return std::string();
      size_t from = at + key.size();
      const bool quoted = line[from] == '"';
      from += quoted;
      const size_t to = line.find_first_of(quoted ? "\"" : ",}", from);
      return line.substr(from, to - from);
    };
    double ms = 0;
    if (absl::SimpleAtod(field("queued_ms"), &ms)) queued_ms[field("request_id")] = ms;
  }
  struct Commits {
    int64_t by_first = 0, after_give_up = 0, late = 0, unlogged = 0, undetermined = 0;
    std::vector<std::string> late_examples;
  };
  // The transfers of run `name` committed by their first call, and those whose first call waited
  // in walletd's queue longer than `deadline_ms`.
  auto commits = [&](const std::string& name, double deadline_ms) {
    Commits c;
    for (const Record& record : Records(name + "-")) {
      if (record.Final() != Verdict::kOk) continue;
      const Attempt& first = record.attempts.front();
      bool by_first = first.code == StatusCode::OK;
      if (!by_first) {
        const Attempt& retry = record.attempts.at(1);
        if (VerdictOf(retry.code) != Verdict::kOk) {
          ++c.undetermined;  // The first retry was unclear too: it may have been the one.
          continue;
        }
        by_first = retry.replayed;
      }
      if (!by_first) continue;
      ++c.by_first;
      c.after_give_up += first.code == StatusCode::DEADLINE_EXCEEDED;
      auto it = queued_ms.find(first.call_id);
      if (it == queued_ms.end()) {
        ++c.unlogged;
      } else if (it->second > deadline_ms + 0.5) {  // + the microseconds before walletd's clock.
        if (++c.late <= 5) {
          c.late_examples.push_back(absl::StrFormat("%s (queued %.1f ms, client saw %s)",
                                                    first.call_id, it->second,
                                                    CodeName(first.code)));
        }
      }
    }
    return c;
  };
  const Commits grpc_deadline = commits("hurried", 50);
  Figure(absl::StrFormat("50 ms gRPC deadlines: %d committed by their first call, %d of them after "
                         "their client had given up, %d although queued over 50 ms at walletd",
                         grpc_deadline.by_first, grpc_deadline.after_give_up, grpc_deadline.late));
  const Commits own = commits("timed", kWalletdDeadlineMs);
  Figure(absl::StrFormat("walletd's own 50 ms deadline: %d committed by their first call, %d of "
                         "them dequeued after their deadline; %d without a log line, %d "
                         "undetermined",
                         own.by_first, own.late, own.unlogged, own.undetermined));
  EXPECT_EQ(own.late, 0) << "committed although dequeued after its deadline: "
                         << absl::StrJoin(own.late_examples, ", ");
  EXPECT_GT(own.by_first, 0) << "no call met walletd's own 50 ms deadline under overload (and the "
                                "check above had nothing to check)";
  EXPECT_EQ(own.unlogged, 0);
  EXPECT_EQ(own.undetermined, 0);
  CheckInvariants();
}

// Issue 16, defect 2: after a restart of PostgreSQL while walletd is idle, with the database back,
// the first call of every kind succeeds. Each kind gets a restart of its own, so that each is the
// very first call with a pool full of connections the restart killed. Health is a status walletd
// refreshes on a timer, not a call of its own: it must answer SERVING within 0.5 s.
TEST_F(FaultTest, FirstCallOfEveryKindSucceedsAfterRestartWhileIdle) {
  ASSERT_NO_FATAL_FAILURE(StartWalletd());
  ASSERT_NO_FATAL_FAILURE(OpenWallets(4, kOpening));
  const Attempt known =
      Call({Kind::kTransfer, "known", wallets_[0], wallets_[1], 5}, absl::Seconds(5), "known", 0);
  ASSERT_EQ(known.code, StatusCode::OK);
  constexpr absl::Duration kHealthMax = absl::Milliseconds(500);

  struct Result {
    StatusCode code;
    std::string reason;
    absl::Duration took;
  };
  auto result = [](const ::grpc::Status& status, absl::Time start) {
    std::string reason;
    if (auto info = ErrorInfoOf(status)) reason = info->reason();
    if (!status.ok()) absl::StrAppend(&reason, " \"", status.error_message(), "\"");
    return Result{status.error_code(), reason, absl::Now() - start};
  };
  auto deadline = [](::grpc::ClientContext* ctx) {
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  };
  // The first call of `kind`, with a 5 s deadline.
  auto first_call = [&](const std::string& kind, int round) -> Result {
    const std::string rid = absl::StrCat("idle-", round);
    const absl::Time start = absl::Now();
    ::grpc::ClientContext ctx;
    deadline(&ctx);
    if (kind == "CreateWallet") {
      wallet::v1::CreateWalletRequest request;
      request.set_request_id(rid);
      request.set_currency("EUR");
      wallet::v1::CreateWalletResponse response;
      return result(Stub(0)->CreateWallet(&ctx, request, &response), start);
    }
    if (kind == "Deposit" || kind == "Withdraw" || kind == "Transfer") {
      Op op{Kind::kTransfer, rid, wallets_[2], wallets_[3], 10};
      if (kind == "Deposit") op = {Kind::kDeposit, rid, "", wallets_[2], 10};
      if (kind == "Withdraw") op = {Kind::kWithdraw, rid, wallets_[2], "", 10};
      const Attempt a = Call(op, absl::Seconds(5), rid, 0);
      return {a.code, a.reason, a.answered - a.sent};
    }
    if (kind == "Balance") {
      wallet::v1::BalanceRequest request;
      request.set_wallet_id(wallets_[0]);
      wallet::v1::BalanceResponse response;
      return result(Stub(0)->Balance(&ctx, request, &response), start);
    }
    if (kind == "GetTransfer") {
      wallet::v1::GetTransferRequest request;
      request.set_transfer_id(known.transfer_id);
      wallet::v1::GetTransferResponse response;
      return result(Stub(0)->GetTransfer(&ctx, request, &response), start);
    }
    if (kind == "ListTransfers") {
      wallet::v1::ListTransfersRequest request;
      request.set_wallet_id(wallets_[0]);
      request.set_page_size(10);
      wallet::v1::ListTransfersResponse response;
      return result(Stub(0)->ListTransfers(&ctx, request, &response), start);
    }
    // Health: how long until it answers SERVING (a bounded poll).
    HealthStatus::ServingStatus health = Health();
    while (health != HealthStatus::SERVING && absl::Now() - start < absl::Seconds(2)) {
      absl::SleepFor(absl::Milliseconds(5));
      health = Health();
    }
    const absl::Duration took = absl::Now() - start;
    return {health == HealthStatus::SERVING && took <= kHealthMax ? StatusCode::OK
                                                                  : StatusCode::UNAVAILABLE,
            HealthStatus::ServingStatus_Name(health), took};
  };

  const std::vector<std::string> kinds = {"CreateWallet", "Deposit",       "Withdraw",
                                          "Transfer",     "Balance",       "GetTransfer",
                                          "ListTransfers", "Health"};
  for (size_t round = 0; round < kinds.size(); ++round) {
    {  // 16 calls at once for a moment: the pool opens all its connections.
      auto warm = StartLoad({.name = absl::StrCat("warm", round), .clients = 16});
      absl::SleepFor(absl::Milliseconds(300));
      warm->Stop();
    }
    const std::optional<int64_t> pooled =
        admin().Int("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'walletd'");
    absl::SleepFor(absl::Milliseconds(300));  // Idle.
    const absl::Time asked = absl::Now();
    ASSERT_TRUE(cluster_->Restart("fast"));
    const absl::Time back = absl::Now();
    const Result r = first_call(kinds[round], static_cast<int>(round));
    Figure(absl::StrFormat("%s first after pg_ctl restart -m fast (walletd idle with %d sessions; "
                           "database back after %.3f s): %s %s in %.1f ms",
                           kinds[round], pooled.value_or(-1), absl::ToDoubleSeconds(back - asked),
                           CodeName(r.code), r.reason, absl::ToDoubleMilliseconds(r.took)));
    EXPECT_EQ(r.code, StatusCode::OK) << "the first " << kinds[round] << " after the restart: "
                                      << r.reason << " after " << r.took;
  }
  Settle();
  CheckInvariants();
}

}  // namespace
}  // namespace walletd::testing::fault
