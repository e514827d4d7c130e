#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/postgres/connection.h"
#include "ports/context.h"
#include "ports/metrics.h"

namespace walletd::pg {

struct PoolOptions {
  std::string dsn;
  // Connections kept open even when idle, and the most ever open at once.
  int size_min = 2;
  int size_max = 8;
  // The longest a caller waits for a free connection, whatever its own deadline.
  absl::Duration acquire_wait_max = absl::Seconds(1);
  // The longest one connection attempt may take. Connections are opened by the pool's own thread,
  // one at a time, on this bound and never on a caller's deadline: a caller that gives up leaves
  // the new connection to the next caller instead of abandoning it half-open.
  absl::Duration connect_timeout = absl::Seconds(5);
  // After a failed attempt the next one waits this long, doubling per failure up to the maximum,
  // so that a database that refuses or is slow to accept connections is not hammered.
  absl::Duration reconnect_backoff_min = absl::Milliseconds(20);
  absl::Duration reconnect_backoff_max = absl::Milliseconds(500);
  // An idle connection older than this is pinged before it is handed out.
  absl::Duration idle_check_after = absl::Seconds(30);
  // How often the background thread tops the pool up to size_min and checks idle connections.
  absl::Duration maintenance_interval = absl::Seconds(1);
  // The bound on the ROLLBACK that resets a connection returned inside a transaction.
  absl::Duration reset_timeout = absl::Seconds(2);
};

// A bounded pool of connections. Thread-safe. Waits are bounded by the caller's deadline and by
// acquire_wait_max. A connection that comes back with a round trip still pending (its caller's
// deadline passed) is drained and kept; one that comes back broken is closed, and makes its idle
// siblings suspect (checked with a round trip before their next use); one that comes back inside
// a transaction is rolled back (or closed), so none is ever handed out or kept idle in one. Every
// idle connection is checked without I/O for a session the server has ended before it is handed
// out, so after a database restart the first caller gets a live connection. Reports how long each
// acquire waited to `metrics`, which must outlive the pool.
class Pool {
 public:
  // Exclusive use of one connection; gives it back when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();
    Connection* operator->() const { return conn_.get(); }
    Connection& operator*() const { return *conn_; }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Pool* pool_ = nullptr;
    std::unique_ptr<Connection> conn_;
  };

  struct Stats {
    int open = 0;      // Connections open, idle or leased.
    int idle = 0;
    int waiting = 0;   // Callers waiting for a connection.
    int64_t opened = 0;
    int64_t closed = 0;
    int64_t resets = 0;  // Connections returned inside a transaction and rolled back.
    int64_t exhausted = 0;  // Acquires that gave up waiting.
    int64_t connect_failures = 0;
    int64_t drained = 0;  // Connections whose caller's deadline passed mid-round-trip, kept.
  };

  explicit Pool(PoolOptions options, Metrics& metrics = NoMetrics());
  ~Pool();  // Close().
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Starts the background thread that keeps size_min connections open. Optional (tests).
  void StartMaintenance();

  // A connection before the context's deadline and within acquire_wait_max. Fails with
  // DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED/POOL_EXHAUSTED (no connection freed up within
  // acquire_wait_max) or UNAVAILABLE/DATABASE_UNAVAILABLE (the connection attempt made for this
  // caller failed).
  absl::StatusOr<Lease> Acquire(const Context& ctx);

  // Whether the database answers. A connection that came back healthy within `fresh` proves it
  // without any I/O (under load the check then never queues for a connection with the calls);
  // otherwise a round trip on a pooled connection before `deadline`.
  absl::Status Ping(absl::Time deadline, absl::Duration fresh = absl::ZeroDuration());

  // Closes idle connections and refuses new acquires; leased ones close when they come back.
  void Close();

  Stats stats() const;

 private:
  // Acquire() but for reporting how long it waited.
  absl::StatusOr<Lease> AcquireUntimed(const Context& ctx);
  void Release(std::unique_ptr<Connection> conn);
  // Closes a connection; `lost` when it proved dead, which makes its idle siblings suspect.
  void Drop(std::unique_ptr<Connection> conn, bool lost);
  // Asks the opener for one more connection if the pool may grow and fewer are on the way than
  // callers wait. Holds mu_.
  void RequestOpenLocked();
  void OpenerLoop();
  void MaintenanceLoop();
  void Maintain();

  const PoolOptions options_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;  // Most recently used last.
  int open_ = 0;      // Idle, leased, or on the way from the opener.
  int opening_ = 0;   // On the way: asked for, or being opened.
  int requested_ = 0; // Asked for and not yet begun.
  int waiting_ = 0;
  bool closed_ = false;
  absl::Time last_healthy_ = absl::InfinitePast();
  // Idle connections last used before this are pinged before use: a sibling proved dead then.
  absl::Time suspect_before_ = absl::InfinitePast();
  // The opener's record: attempts finished, the last one's outcome, consecutive failures, and
  // when the next attempt may begin.
  int64_t attempts_ = 0;
  absl::Status last_attempt_;
  int failures_ = 0;
  absl::Time next_attempt_ = absl::InfinitePast();
  Stats counters_;

  std::condition_variable wake_opener_;
  std::atomic<bool> closing_{false};  // Cuts a connection attempt short when the pool closes.
  std::thread opener_;

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_stop_;
  bool stopping_ = false;
  std::thread maintenance_;
};

}  // namespace walletd::pg
