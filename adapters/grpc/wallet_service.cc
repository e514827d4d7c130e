#include "adapters/grpc/wallet_service.h"

#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/grpc/convert.h"
#include "adapters/grpc/status.h"
#include "domain/errors.h"
#include "domain/text.h"

namespace walletd::grpc_adapter {
namespace {

constexpr char kRequestIdHeader[] = "x-request-id";
// A client's x-request-id is logged and echoed: keep it short and printable.
constexpr size_t kRequestIdHeaderLengthMax = 128;

std::string NewRequestId() {
  thread_local absl::BitGen bits;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(bits), absl::Uniform<uint64_t>(bits));
}

std::string RequestIdOf(const ::grpc::CallbackServerContext& sctx) {
  const auto& metadata = sctx.client_metadata();
  auto it = metadata.find(kRequestIdHeader);
  if (it == metadata.end()) return NewRequestId();
  const std::string value(it->second.data(), it->second.size());
  if (value.empty() || value.size() > kRequestIdHeaderLengthMax) return NewRequestId();
  for (unsigned char c : value) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return NewRequestId();
  }
  return value;
}

absl::Time DeadlineOf(const ::grpc::CallbackServerContext& sctx, absl::Duration fallback) {
  const auto deadline = sctx.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::Now() + fallback;
  return absl::FromChrono(deadline);
}

LogLevel LevelFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kCancelled:
      return LogLevel::kInfo;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return LogLevel::kError;
    default:
      return LogLevel::kWarn;
  }
}

}  // namespace

// One call: its Context, its timing, and the reactor gRPC drives. Deletes itself when gRPC is done.
class WalletService::Call final : public ::grpc::ServerUnaryReactor {
 public:
  Call(WalletService& service, const char* method, ::grpc::CallbackServerContext* sctx)
      : service_(service),
        method_(method),
        sctx_(sctx),
        started_(absl::Now()),
        ctx_(DeadlineOf(*sctx, service.options_.default_deadline), RequestIdOf(*sctx)) {
    sctx_->AddInitialMetadata(kRequestIdHeader, ctx_.request_id());
  }

  Context& ctx() { return ctx_; }
  // A worker took the call: the wait before this is the queue's, not the database's.
  void Running() { running_ = absl::Now(); }

  // Logs the call and finishes it; the Call may be gone as soon as this returns.
  void Complete(const absl::Status& status) {
    const std::string reason = ReportedReason(status);
    const absl::Time now = absl::Now();
    const double ms = absl::ToDoubleMilliseconds(now - started_);
    // A call refused or cancelled before a worker took it waited all along.
    const absl::Time ran = running_ == absl::InfinitePast() ? now : running_;
    const double queued_ms = absl::ToDoubleMilliseconds(ran - started_);
    const LogLevel level = LevelFor(status);
    if (service_.logger_.Enabled(level)) {
      const std::string peer = sctx_->peer();
      const std::string code = absl::StatusCodeToString(status.code());
      service_.logger_.Log(level, "call",
                           {{"method", method_},
                            {"code", code},
                            {"reason", reason},
                            {"duration_ms", ms},
                            {"queued_ms", queued_ms},
                            {"request_id", ctx_.request_id()},
                            {"peer", peer},
                            {"error", status.ok() ? std::string_view() : AsStd(status.message())}});
    }
    Finish(ToGrpcStatus(status, ctx_.request_id()));
  }

  void OnCancel() override { ctx_.Cancel(); }
  void OnDone() override { delete this; }

 private:
  WalletService& service_;
  const char* const method_;
  ::grpc::CallbackServerContext* const sctx_;
  const absl::Time started_;
  absl::Time running_ = absl::InfinitePast();
  Context ctx_;
};

WalletService::WalletService(UseCases use_cases, boost::asio::thread_pool& workers,
                             ServiceOptions options, Logger& logger)
    : use_cases_(use_cases),
      workers_(workers),
      options_(options),
      logger_(logger),
      admission_(options.running_max, options.queued_max) {}

template <class Work>
::grpc::ServerUnaryReactor* WalletService::Serve(const char* method,
                                                 ::grpc::CallbackServerContext* sctx, Work work) {
  Call* call = new Call(*this, method, sctx);
  if (!admission_.TryEnter()) {
    call->Complete(DomainError(absl::StatusCode::kResourceExhausted, reason::kOverloaded,
                               "too many calls in flight; retry with backoff"));
    return call;
  }
  boost::asio::post(workers_, [this, call, work = std::move(work)]() mutable {
    call->Running();
    absl::Status status = call->ctx().Alive();  // It may have expired while queued.
    if (status.ok()) status = work(call->ctx());
    admission_.Leave();
    call->Complete(status);
  });
  return call;
}

::grpc::ServerUnaryReactor* WalletService::CreateWallet(
    ::grpc::CallbackServerContext* sctx, const wallet::v1::CreateWalletRequest* request,
    wallet::v1::CreateWalletResponse* response) {
  return Serve("CreateWallet", sctx, [this, request, response](Context& ctx) -> absl::Status {
    auto result = use_cases_.create_wallet(ctx, {request->request_id(), request->currency()});
    if (!result.ok()) return result.status();
    ToProto(result->wallet, response->mutable_wallet());
    response->set_replayed(result->replayed);
    return absl::OkStatus();
  });
}

// Deposit and Withdraw share their shapes: one wallet in, the transfer and its balance out.
template <class Handler, class Request, class Response>
::grpc::ServerUnaryReactor* WalletService::ServeOneWallet(const char* method,
                                                          ::grpc::CallbackServerContext* sctx,
                                                          Handler& handler, const Request* request,
                                                          Response* response) {
  return Serve(method, sctx, [&handler, request, response](Context& ctx) -> absl::Status {
    auto result = handler(ctx, {request->request_id(), request->wallet_id(),
                                request->amount().minor_units(), request->amount().currency()});
    if (!result.ok()) return result.status();
    ToProto(result->transfer, response->mutable_transfer());
    ToProto(result->balance_after, result->transfer.amount.currency(), response->mutable_balance());
    response->set_replayed(result->replayed);
    return absl::OkStatus();
  });
}

::grpc::ServerUnaryReactor* WalletService::Deposit(::grpc::CallbackServerContext* sctx,
                                                   const wallet::v1::DepositRequest* request,
                                                   wallet::v1::DepositResponse* response) {
  return ServeOneWallet("Deposit", sctx, use_cases_.deposit, request, response);
}

::grpc::ServerUnaryReactor* WalletService::Withdraw(::grpc::CallbackServerContext* sctx,
                                                    const wallet::v1::WithdrawRequest* request,
                                                    wallet::v1::WithdrawResponse* response) {
  return ServeOneWallet("Withdraw", sctx, use_cases_.withdraw, request, response);
}

::grpc::ServerUnaryReactor* WalletService::Transfer(::grpc::CallbackServerContext* sctx,
                                                    const wallet::v1::TransferRequest* request,
                                                    wallet::v1::TransferResponse* response) {
  return Serve("Transfer", sctx, [this, request, response](Context& ctx) -> absl::Status {
    auto result = use_cases_.transfer(
        ctx, {request->request_id(), request->from_wallet_id(), request->to_wallet_id(),
              request->amount().minor_units(), request->amount().currency()});
    if (!result.ok()) return result.status();
    ToProto(result->transfer, response->mutable_transfer());
    ToProto(result->balance_after, result->transfer.amount.currency(),
            response->mutable_from_balance());
    response->set_replayed(result->replayed);
    return absl::OkStatus();
  });
}

::grpc::ServerUnaryReactor* WalletService::Balance(::grpc::CallbackServerContext* sctx,
                                                   const wallet::v1::BalanceRequest* request,
                                                   wallet::v1::BalanceResponse* response) {
  return Serve("Balance", sctx, [this, request, response](Context& ctx) -> absl::Status {
    auto wallet = use_cases_.balance(ctx, {request->wallet_id()});
    if (!wallet.ok()) return wallet.status();
    ToProto(*wallet, response->mutable_wallet());
    return absl::OkStatus();
  });
}

::grpc::ServerUnaryReactor* WalletService::GetTransfer(
    ::grpc::CallbackServerContext* sctx, const wallet::v1::GetTransferRequest* request,
    wallet::v1::GetTransferResponse* response) {
  return Serve("GetTransfer", sctx, [this, request, response](Context& ctx) -> absl::Status {
    auto transfer = use_cases_.get_transfer(ctx, {request->transfer_id()});
    if (!transfer.ok()) return transfer.status();
    ToProto(*transfer, response->mutable_transfer());
    return absl::OkStatus();
  });
}

::grpc::ServerUnaryReactor* WalletService::ListTransfers(
    ::grpc::CallbackServerContext* sctx, const wallet::v1::ListTransfersRequest* request,
    wallet::v1::ListTransfersResponse* response) {
  return Serve("ListTransfers", sctx, [this, request, response](Context& ctx) -> absl::Status {
    auto page = use_cases_.list_transfers(
        ctx, {request->wallet_id(), request->page_size(), request->page_token()});
    if (!page.ok()) return page.status();
    for (const walletd::Transfer& t : page->transfers) ToProto(t, response->add_transfers());
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

}  // namespace walletd::grpc_adapter
