#pragma once

#include <grpcpp/completion_queue.h>
#include <grpcpp/server_builder.h>

#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "adapters/grpc/admission.h"
#include "adapters/system/log.h"
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

struct ServiceOptions {
  // The deadline of a call that brings none.
  absl::Duration default_deadline = absl::Seconds(10);
  // Calls running at once and calls waiting to run.
  int running_max = 16;
  int queued_max = 128;
};

// wallet.v1.WalletService on gRPC's completion-queue API. It only translates: request fields into
// use case commands, results into responses, statuses into gRPC statuses with an ErrorInfo. Each
// call gets a Context with its deadline (or the default), its cancellation and its request id
// (x-request-id metadata, or a new one, echoed in the response metadata), and leaves one log line.
//
// Threads: running_max + 1 own threads wait on one completion queue. The thread that reads a new
// call runs it while fewer than running_max run, so a call is not handed between threads on its
// way in or out; otherwise it waits in a FIFO queue and the next thread to finish a call takes
// it. One thread is always left to read calls, refuse the excess and notice cancellations. Use
// cases block on the database, which is why they never run on gRPC's own threads.
//
// Order: Register(builder), builder.BuildAndStart(), Start(); to stop, server->Shutdown() (which
// returns once every call finished), then Stop().
class WalletService {
 public:
  WalletService(UseCases use_cases, ServiceOptions options, Logger& logger);
  ~WalletService();
  WalletService(const WalletService&) = delete;
  WalletService& operator=(const WalletService&) = delete;

  void Register(::grpc::ServerBuilder& builder);
  void Start();
  void Stop();

 private:
  class Call;
  template <class Request, class Response>
  class MethodCall;

  void Loop();
  // Queues an admitted call, then runs queued calls on this thread while a run slot is free.
  void Enqueue(Call* call);

  UseCases use_cases_;
  const ServiceOptions options_;
  Logger& logger_;
  Admission admission_;
  wallet::v1::WalletService::AsyncService async_;
  std::unique_ptr<::grpc::ServerCompletionQueue> cq_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;

  std::mutex mu_;
  std::deque<Call*> queued_;  // Guarded by mu_.
  int running_ = 0;           // Guarded by mu_.
};

}  // namespace walletd::grpc_adapter
