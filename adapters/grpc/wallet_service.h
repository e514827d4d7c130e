#pragma once

#include <boost/asio/thread_pool.hpp>

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
  // Calls running at once (the worker threads) and calls waiting for a worker.
  int running_max = 16;
  int queued_max = 128;
};

// wallet.v1.WalletService on gRPC's callback API. It only translates: request fields into use
// case commands, results into responses, statuses into gRPC statuses with an ErrorInfo. Use cases
// run on `workers` (they block on the database), never on gRPC's threads. Each call gets a Context
// with its deadline (or the default), its cancellation and its request id (x-request-id metadata,
// or a new one, echoed in the response metadata), and leaves one log line.
class WalletService final : public wallet::v1::WalletService::CallbackService {
 public:
  WalletService(UseCases use_cases, boost::asio::thread_pool& workers, ServiceOptions options,
                Logger& logger);

  ::grpc::ServerUnaryReactor* CreateWallet(::grpc::CallbackServerContext* sctx,
                                           const wallet::v1::CreateWalletRequest* request,
                                           wallet::v1::CreateWalletResponse* response) override;
  ::grpc::ServerUnaryReactor* Deposit(::grpc::CallbackServerContext* sctx,
                                      const wallet::v1::DepositRequest* request,
                                      wallet::v1::DepositResponse* response) override;
  ::grpc::ServerUnaryReactor* Withdraw(::grpc::CallbackServerContext* sctx,
                                       const wallet::v1::WithdrawRequest* request,
                                       wallet::v1::WithdrawResponse* response) override;
  ::grpc::ServerUnaryReactor* Transfer(::grpc::CallbackServerContext* sctx,
                                       const wallet::v1::TransferRequest* request,
                                       wallet::v1::TransferResponse* response) override;
  ::grpc::ServerUnaryReactor* Balance(::grpc::CallbackServerContext* sctx,
                                      const wallet::v1::BalanceRequest* request,
                                      wallet::v1::BalanceResponse* response) override;
  ::grpc::ServerUnaryReactor* GetTransfer(::grpc::CallbackServerContext* sctx,
                                          const wallet::v1::GetTransferRequest* request,
                                          wallet::v1::GetTransferResponse* response) override;
  ::grpc::ServerUnaryReactor* ListTransfers(::grpc::CallbackServerContext* sctx,
                                            const wallet::v1::ListTransfersRequest* request,
                                            wallet::v1::ListTransfersResponse* response) override;

 private:
  class Call;
  // Admits the call and runs `work(ctx)` on a worker, then finishes it with the returned status.
  template <class Work>
  ::grpc::ServerUnaryReactor* Serve(const char* method, ::grpc::CallbackServerContext* sctx,
                                    Work work);
  template <class Handler, class Request, class Response>
  ::grpc::ServerUnaryReactor* ServeOneWallet(const char* method,
                                             ::grpc::CallbackServerContext* sctx, Handler& handler,
                                             const Request* request, Response* response);

  UseCases use_cases_;
  boost::asio::thread_pool& workers_;
  const ServiceOptions options_;
  Logger& logger_;
  Admission admission_;
};

}  // namespace walletd::grpc_adapter
