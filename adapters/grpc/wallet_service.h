#pragma once

#include <grpcpp/completion_queue.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "adapters/grpc/call_queue.h"
#include "adapters/grpc/tokens.h"
#include "ports/logger.h"
#include "ports/metrics.h"
#include "application/balance.h"
#include "application/create_wallet.h"
#include "application/deposit.h"
#include "application/get_transfer.h"
#include "application/list_transfers.h"
#include "application/transfer.h"
#include "application/withdraw.h"
#include "wallet/v1/wallet.grpc.pb.h"

namespace walletd::grpc_adapter {

// The use cases the service calls; owned by the composition root, outliving the service.
struct UseCases {
  CreateWalletHandler& create_wallet;
  DepositHandler& deposit;
  WithdrawHandler& withdraw;
  TransferHandler& transfer;
  BalanceHandler& balance;
  GetTransferHandler& get_transfer;
  ListTransfersHandler& list_transfers;
};

// Requests are small; anything larger is a mistake or an attack, answered RESOURCE_EXHAUSTED /
// REQUEST_TOO_LARGE by walletd itself.
inline constexpr size_t kRequestBytesMax = 64 * 1024;
// What gRPC's transport takes before walletd sees a request at all; beyond it gRPC refuses the
// body on its own (RESOURCE_EXHAUSTED without ErrorInfo, no call line). gRPC's own default: it
// bounds the memory one request can hold while it is read.
inline constexpr size_t kTransportBytesMax = 4 * 1024 * 1024;
static_assert(kRequestBytesMax < kTransportBytesMax, "walletd must see the oversize requests");

// wallet.v1.WalletService with every method taking and giving raw bytes.
using RawWalletService = wallet::v1::WalletService::WithRawMethod_CreateWallet<
    wallet::v1::WalletService::WithRawMethod_Deposit<
        wallet::v1::WalletService::WithRawMethod_Withdraw<
            wallet::v1::WalletService::WithRawMethod_Transfer<
                wallet::v1::WalletService::WithRawMethod_Balance<
                    wallet::v1::WalletService::WithRawMethod_GetTransfer<
                        wallet::v1::WalletService::WithRawMethod_ListTransfers<
                            wallet::v1::WalletService::Service>>>>>>>;

struct ServiceOptions {
  // The deadline of a call that brings none.
  absl::Duration default_deadline = absl::Seconds(10);
  // Calls running at once and calls waiting to run.
  int running_max = 8;
  int queued_max = 128;
  // Which waiting call runs next, and when one waited too long (see CallQueue).
  QueueOptions queue;
  size_t request_bytes_max = kRequestBytesMax;
};

// wallet.v1.WalletService on gRPC's completion-queue API. It only translates: request bytes into
// use case commands, results into responses, statuses into gRPC statuses with an ErrorInfo. Each
// call gets a Context with its deadline (or the default), its cancellation, its request id
// (x-request-id metadata, or a new one, echoed in the response metadata) and its caller, as the
// Authenticator finds it from the `authorization` metadata, and leaves one log line naming the
// caller. A call that authenticates as nobody is answered UNAUTHENTICATED at once, before its body
// is parsed or it takes a worker; what a caller may do is the use cases' business.
//
// Requests arrive as raw bytes and walletd parses them itself, so that a body that is no request
// of the method's type (or too large) gets walletd's answer, ErrorInfo and log line like any other
// error, instead of gRPC's bare INTERNAL "Unable to parse request".
//
// Threads: running_max + 1 own threads wait on one completion queue. The thread that reads a new
// call runs it while fewer than running_max run, so a call is not handed between threads on its
// way in or out; otherwise it waits in the CallQueue and the next thread to finish a call takes
// the next one. One thread is always left to read calls, refuse the excess and notice
// cancellations; a call cancelled, or whose deadline passes, while it waits leaves the queue at
// once. Use cases block on the database, which is why they never run on gRPC's own threads.
//
// Each answered call and each refusal is reported to `metrics`; load() tells how many calls run
// and wait, for whoever samples it.
//
// Order: Register(builder), builder.BuildAndStart(), Start(); to stop, Shutdown(server, ...).
class WalletService {
 public:
  // Calls running a use case, and calls admitted and waiting for a worker.
  struct Load {
    int running = 0;
    int queued = 0;
  };

  // `auth`, `logger` and `metrics` outlive the service.
  WalletService(UseCases use_cases, ServiceOptions options, const Authenticator& auth,
                Logger& logger, Metrics& metrics = NoMetrics());
  ~WalletService();
  WalletService(const WalletService&) = delete;
  WalletService& operator=(const WalletService&) = delete;

  // Registers the service and its completion queue, and sets the transport's size limit.
  void Register(::grpc::ServerBuilder& builder);
  void Start();
  // Stops `server`, the server this service was registered with: no call is accepted from now
  // on, calls already accepted finish until grace_end (then they are cancelled), and as soon as
  // none is left every connection is closed, without waiting for idle clients to acknowledge the
  // server's goodbye (see the .cc); then the threads stop. Returns once all of that is done.
  void Shutdown(::grpc::Server& server, absl::Time grace_end);

  // Thread-safe.
  Load load() const;

 private:
  class Call;
  template <class Request, class Response>
  class MethodCall;
  using Dropped = CallQueue<Call*>::Dropped;

  void Loop();
  // Queues an admitted call, then runs queued calls on this thread while a run slot is free.
  void Enqueue(Call* call);
  // Takes a call cancelled by its client (or its deadline) out of the queue and answers it.
  void Withdraw(Call* call);
  void Answer(const std::vector<Dropped>& dropped);
  // In-flight bookkeeping for Shutdown().
  void Awaiting(int delta);
  void InFlight(int delta);
  // Until no call can arrive any more and none is in flight, the server is down, or `until`;
  // true when the server is not down yet.
  bool WaitUntilIdle(absl::Time until);
  void Stop();

  UseCases use_cases_;
  const ServiceOptions options_;
  const Authenticator& auth_;
  Logger& logger_;
  Metrics& metrics_;
  RawWalletService raw_;
  std::unique_ptr<::grpc::ServerCompletionQueue> cq_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;

  mutable std::mutex mu_;
  CallQueue<Call*> queue_;  // Guarded by mu_.
  int running_ = 0;         // Guarded by mu_.

  std::mutex flight_mu_;
  std::condition_variable flight_changed_;
  int awaiting_ = 0;   // Calls asked of gRPC and not yet handed over; guarded by flight_mu_.
  int in_flight_ = 0;  // Calls handed over and not yet done with; guarded by flight_mu_.
  bool server_down_ = false;  // Server::Shutdown returned; guarded by flight_mu_.
};

}  // namespace walletd::grpc_adapter
