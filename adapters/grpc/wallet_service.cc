#include "adapters/grpc/wallet_service.h"

#include <grpc/grpc.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/grpc/convert.h"
#include "adapters/grpc/library_log.h"
#include "adapters/grpc/status.h"
#include "domain/errors.h"
#include "domain/text.h"

namespace walletd::grpc_adapter {
namespace {

constexpr char kRequestIdHeader[] = "x-request-id";
constexpr char kAuthorizationHeader[] = "authorization";
// More authorization values than this are refused without looking at any.
constexpr size_t kAuthorizationValuesMax = 2;
// A client's x-request-id is logged and echoed: keep it short and printable.
constexpr size_t kRequestIdHeaderLengthMax = 128;

std::string NewRequestId() {
  thread_local absl::BitGen bits;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(bits), absl::Uniform<uint64_t>(bits));
}

std::string RequestIdOf(const ::grpc::ServerContext& sctx) {
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

// The call's `authorization` values (at most kAuthorizationValuesMax of them: more than one is
// refused anyway).
std::vector<std::string_view> AuthorizationOf(const ::grpc::ServerContext& sctx) {
  std::vector<std::string_view> values;
  auto [it, end] = sctx.client_metadata().equal_range(kAuthorizationHeader);
  for (; it != end && values.size() < kAuthorizationValuesMax; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  return values;
}

absl::Time DeadlineOf(const ::grpc::ServerContext& sctx, absl::Duration fallback) {
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
    case absl::StatusCode::kPermissionDenied:
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

namespace v1 = ::wallet::v1;

// What differs between methods: the name, how to ask gRPC for the next call, and the use case.
template <class Request, class Response>
struct Method {
  using RequestType = Request;
  using ResponseType = Response;
  const char* name;
  void (RawWalletService::*request)(::grpc::ServerContext*, ::grpc::ByteBuffer*,
                                    ::grpc::ServerAsyncResponseWriter<::grpc::ByteBuffer>*,
                                    ::grpc::CompletionQueue*, ::grpc::ServerCompletionQueue*,
                                    void*);
  absl::Status (*work)(const UseCases&, Context&, const Request&, Response*);
};

// Deposit and Withdraw share their shapes: one wallet in, the transfer and its balance out.
template <class Handler, class Request, class Response>
absl::Status MoveOneWallet(Handler& handler, Context& ctx, const Request& request,
                           Response* response) {
  auto result = handler(ctx, {request.request_id(), request.wallet_id(),
                              request.amount().minor_units(), request.amount().currency()});
  if (!result.ok()) return result.status();
  ToProto(result->transfer, response->mutable_transfer());
  ToProto(result->balance_after, result->transfer.amount.currency(), response->mutable_balance());
  response->set_replayed(result->replayed);
  return absl::OkStatus();
}

const Method<v1::CreateWalletRequest, v1::CreateWalletResponse> kCreateWallet{
    "CreateWallet", &RawWalletService::RequestCreateWallet,
    [](const UseCases& use_cases, Context& ctx, const v1::CreateWalletRequest& request,
       v1::CreateWalletResponse* response) -> absl::Status {
      auto result = use_cases.create_wallet(
          ctx, {request.request_id(), request.currency(), request.tenant()});
      if (!result.ok()) return result.status();
      ToProto(result->wallet, response->mutable_wallet());
      response->set_replayed(result->replayed);
      return absl::OkStatus();
    }};

const Method<v1::DepositRequest, v1::DepositResponse> kDeposit{
    "Deposit", &RawWalletService::RequestDeposit,
    [](const UseCases& use_cases, Context& ctx, const v1::DepositRequest& request,
       v1::DepositResponse* response) {
      return MoveOneWallet(use_cases.deposit, ctx, request, response);
    }};

const Method<v1::WithdrawRequest, v1::WithdrawResponse> kWithdraw{
    "Withdraw", &RawWalletService::RequestWithdraw,
    [](const UseCases& use_cases, Context& ctx, const v1::WithdrawRequest& request,
       v1::WithdrawResponse* response) {
      return MoveOneWallet(use_cases.withdraw, ctx, request, response);
    }};

const Method<v1::TransferRequest, v1::TransferResponse> kTransfer{
    "Transfer", &RawWalletService::RequestTransfer,
    [](const UseCases& use_cases, Context& ctx, const v1::TransferRequest& request,
       v1::TransferResponse* response) -> absl::Status {
      auto result = use_cases.transfer(
          ctx, {request.request_id(), request.from_wallet_id(), request.to_wallet_id(),
                request.amount().minor_units(), request.amount().currency()});
      if (!result.ok()) return result.status();
      ToProto(result->transfer, response->mutable_transfer());
      ToProto(result->balance_after, result->transfer.amount.currency(),
              response->mutable_from_balance());
      response->set_replayed(result->replayed);
      return absl::OkStatus();
    }};

const Method<v1::BalanceRequest, v1::BalanceResponse> kBalance{
    "Balance", &RawWalletService::RequestBalance,
    [](const UseCases& use_cases, Context& ctx, const v1::BalanceRequest& request,
       v1::BalanceResponse* response) -> absl::Status {
      auto wallet = use_cases.balance(ctx, {request.wallet_id()});
      if (!wallet.ok()) return wallet.status();
      ToProto(*wallet, response->mutable_wallet());
      return absl::OkStatus();
    }};

const Method<v1::GetTransferRequest, v1::GetTransferResponse> kGetTransfer{
    "GetTransfer", &RawWalletService::RequestGetTransfer,
    [](const UseCases& use_cases, Context& ctx, const v1::GetTransferRequest& request,
       v1::GetTransferResponse* response) -> absl::Status {
      auto transfer = use_cases.get_transfer(ctx, {request.transfer_id()});
      if (!transfer.ok()) return transfer.status();
      ToProto(*transfer, response->mutable_transfer());
      return absl::OkStatus();
    }};

const Method<v1::ListTransfersRequest, v1::ListTransfersResponse> kListTransfers{
    "ListTransfers", &RawWalletService::RequestListTransfers,
    [](const UseCases& use_cases, Context& ctx, const v1::ListTransfersRequest& request,
       v1::ListTransfersResponse* response) -> absl::Status {
      auto page = use_cases.list_transfers(
          ctx, {request.wallet_id(), request.page_size(), request.page_token()});
      if (!page.ok()) return page.status();
      for (const walletd::Transfer& t : page->transfers) ToProto(t, response->add_transfers());
      response->set_next_page_token(page->next_page_token);
      return absl::OkStatus();
    }};

// Calls of each method gRPC may hand over at once; each call handed over asks for the next one.
constexpr int kAwaitedPerMethod = 8;

// On shutdown, once every call is answered, how long the connections stay open before they are
// closed: time for the last answers to leave the machine. gRPC would otherwise keep an idle
// connection until its client acknowledges the server's goodbye (a GOAWAY and a PING), which a
// gRPC C++ client without a call in flight reads only at its backup poll, every 5 s: walletd's
// exit took as long as that, up to the shutdown grace period.
constexpr absl::Duration kConnectionsLinger = absl::Milliseconds(100);

}  // namespace

// One call from the moment it is awaited until gRPC is done with it. Its completion-queue tags
// are its three events; it deletes itself after the last one.
class WalletService::Call {
 public:
  enum class Event { kMatched, kFinished, kDone };
  struct Tag {
    Call* call;
    Event event;
  };

  explicit Call(WalletService& service) : service_(service) {}
  virtual ~Call() = default;

  // Asks gRPC for the next call of this method, into this object.
  void Await() {
    service_.Awaiting(+1);
    AskForNext();
  }
  virtual const char* method() const = 0;

  void On(Event event, bool ok) {
    switch (event) {
      case Event::kMatched:
        // Not ok: the server is shutting down and this call never started (nor will kDone come).
        if (!ok) {
          WalletService& service = service_;
          delete this;
          service.Awaiting(-1);
          return;
        }
        service_.InFlight(+1);  // Before Awaiting(-1): the service never looks idle meanwhile.
        Fresh()->Await();
        service_.Awaiting(-1);
        Matched();
        return;
      case Event::kDone:
        // The client went away, its deadline passed, or the server cancelled the call. A running
        // use case sees it; a waiting call leaves the queue now, not when its turn comes.
        if (sctx_.IsCancelled()) {
          cancelled_.store(true);
          if (ctx_ready_.load()) ctx_->Cancel();
          service_.Withdraw(this);
        }
        break;
      case Event::kFinished:
        break;
    }
    if (events_left_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      WalletService& service = service_;
      delete this;
      service.InFlight(-1);
    }
  }

  absl::Time deadline() const { return ctx_->deadline(); }
  bool cancelled() const { return cancelled_.load(); }

  // On a thread with a run slot: runs the use case, then finishes the call. Returns how long the
  // use case ran; zero when it did not run.
  absl::Duration Run() {
    running_ = absl::Now();
    absl::Status status = ctx_->Alive();  // It may have expired or been cancelled just now.
    absl::Duration ran = absl::ZeroDuration();
    if (status.ok()) {
      status = Work(*ctx_);
      ran = absl::Now() - running_;
    }
    Complete(status);
    return ran;
  }

  // Answers a call that never ran: refused, dropped from the queue, or abandoned by its client.
  void Refuse() {
    service_.metrics_.CallRefused(method(), Refusal::kQueueFull);
    Complete(DomainError(absl::StatusCode::kResourceExhausted, reason::kOverloaded,
                         "too many calls in flight; retry with backoff"));
  }
  void Drop(CallQueue<Call*>::Drop why) {
    switch (why) {
      case CallQueue<Call*>::Drop::kExpired:
        Abandon();
        return;
      case CallQueue<Call*>::Drop::kUnmeetable:
        service_.metrics_.CallRefused(method(), Refusal::kUnmeetable);
        Complete(DomainError(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded,
                             "not started: too little of the call's deadline was left for it to "
                             "finish at the pace calls run now"));
        return;
      case CallQueue<Call*>::Drop::kTooOld:
      case CallQueue<Call*>::Drop::kEvicted:
        service_.metrics_.CallRefused(method(), why == CallQueue<Call*>::Drop::kTooOld
                                                    ? Refusal::kWaitedTooLong
                                                    : Refusal::kEvicted);
        Complete(DomainError(absl::StatusCode::kResourceExhausted, reason::kOverloaded,
                             "not started: walletd is overloaded and the call waited too long "
                             "for a worker; retry with backoff"));
        return;
    }
  }
  void Abandon() {
    if (absl::Now() >= ctx_->deadline()) {
      Complete(DomainError(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded,
                           "the call's deadline passed before a worker was free"));
    } else {
      Complete(DomainError(absl::StatusCode::kCancelled, reason::kCancelled,
                           "the call was cancelled before a worker was free"));
    }
  }

 protected:
  virtual void AskForNext() = 0;
  virtual Call* Fresh() = 0;
  // The request from the bytes received: RESOURCE_EXHAUSTED / REQUEST_TOO_LARGE or
  // INVALID_ARGUMENT / MALFORMED_REQUEST when they are no request of the method's type.
  virtual absl::Status Parse() = 0;
  virtual absl::Status Work(Context& ctx) = 0;
  // The response into bytes to send.
  virtual absl::Status Serialize() = 0;
  virtual void Finish(const ::grpc::Status& status) = 0;

  WalletService& service_;
  ::grpc::ServerContext sctx_;
  // The completion-queue tags of the three events.
  Tag matched_{this, Event::kMatched};
  Tag finished_{this, Event::kFinished};
  Tag done_{this, Event::kDone};

 private:
  void Matched() {
    started_ = absl::Now();
    ctx_.emplace(DeadlineOf(sctx_, service_.options_.default_deadline), RequestIdOf(sctx_));
    // kDone may already have come on another thread; whichever of the two runs second cancels.
    ctx_ready_.store(true);
    if (cancelled_.load()) ctx_->Cancel();
    sctx_.AddInitialMetadata(kRequestIdHeader, ctx_->request_id());
    absl::StatusOr<std::shared_ptr<const Caller>> caller =
        service_.auth_.Authenticate(AuthorizationOf(sctx_));
    if (!caller.ok()) {
      Complete(caller.status());
      return;
    }
    // Kept by the call: a reload of the tokens meanwhile leaves this caller as it was.
    caller_ = *std::move(caller);
    ctx_->set_caller(caller_.get());
    if (absl::Status parsed = Parse(); !parsed.ok()) {
      Complete(parsed);
      return;
    }
    service_.Enqueue(this);
  }

  // Logs the call and finishes it; the Call may be gone as soon as this returns.
  void Complete(absl::Status status) {
    if (status.ok()) status = Serialize();
    const std::string reason = ReportedReason(status);
    const absl::Time now = absl::Now();
    const double ms = absl::ToDoubleMilliseconds(now - started_);
    // A call refused or cancelled before it ran waited all along.
    const absl::Time ran = running_ == absl::InfinitePast() ? now : running_;
    const double queued_ms = absl::ToDoubleMilliseconds(ran - started_);
    const LogLevel level = LevelFor(status);
    Logger& logger = service_.logger_;
    if (logger.Enabled(level)) {
      const std::string peer = sctx_.peer();
      const std::string code = absl::StatusCodeToString(status.code());
      const std::string error = status.ok() ? std::string() : LogText(status);
      logger.Log(level, "call",
                 {{"method", method()},
                  {"code", code},
                  {"reason", reason},
                  {"duration_ms", ms},
                  {"queued_ms", queued_ms},
                  {"request_id", ctx_->request_id()},
                  {"caller", caller_ != nullptr ? std::string_view(caller_->name) : ""},
                  {"peer", peer},
                  {"error", error}});
    }
    const ::grpc::Status answer = ToGrpcStatus(status, ctx_->request_id());
    // The code the client gets: an unexpected error goes out as INTERNAL whatever its own.
    service_.metrics_.CallFinished(method(), static_cast<absl::StatusCode>(answer.error_code()),
                                   reason, now - started_);
    Finish(answer);
  }

  std::atomic<int> events_left_{2};  // kFinished and kDone.
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> ctx_ready_{false};
  absl::Time started_;
  absl::Time running_ = absl::InfinitePast();
  std::optional<Context> ctx_;
  std::shared_ptr<const Caller> caller_;  // Set once authenticated; ctx_ points into it.
};

template <class Request, class Response>
class WalletService::MethodCall final : public Call {
 public:
  MethodCall(WalletService& service, const Method<Request, Response>& method)
      : Call(service), method_(method) {}

  const char* method() const override { return method_.name; }

 private:
  void AskForNext() override {
    sctx_.AsyncNotifyWhenDone(&done_);
    ::grpc::ServerCompletionQueue* cq = service_.cq_.get();
    (service_.raw_.*method_.request)(&sctx_, &request_bytes_, &writer_, cq, cq, &matched_);
  }
  Call* Fresh() override { return new MethodCall(service_, method_); }
  absl::Status Parse() override {
    const size_t size = request_bytes_.Length();
    if (size > service_.options_.request_bytes_max) {
      return DomainError(absl::StatusCode::kResourceExhausted, reason::kRequestTooLarge,
                         absl::StrFormat("the request has %d bytes; walletd takes at most %d",
                                         size, service_.options_.request_bytes_max));
    }
    bool parsed = false;
    {
      ::grpc::ProtoBufferReader reader(&request_bytes_);
      ParsingClientBytes scope;
      parsed = reader.status().ok() && request_.ParseFromZeroCopyStream(&reader);
    }
    request_bytes_.Clear();
    if (!parsed) {
      return InvalidArgument(reason::kMalformedRequest,
                             absl::StrCat("the request is no ", request_.GetTypeName(),
                                          ": undecodable bytes, or a string that is not UTF-8"));
    }
    return absl::OkStatus();
  }
  absl::Status Work(Context& ctx) override {
    return method_.work(service_.use_cases_, ctx, request_, &response_);
  }
  absl::Status Serialize() override {
    bool own_buffer = false;
    const ::grpc::Status status =
        ::grpc::SerializationTraits<Response>::Serialize(response_, &response_bytes_, &own_buffer);
    if (status.ok()) return absl::OkStatus();
    return absl::InternalError(
        absl::StrCat("cannot serialize the response: ", status.error_message()));
  }
  void Finish(const ::grpc::Status& status) override {
    if (status.ok()) {
      writer_.Finish(response_bytes_, status, &finished_);
    } else {
      writer_.FinishWithError(status, &finished_);
    }
  }

  const Method<Request, Response>& method_;
  ::grpc::ByteBuffer request_bytes_;
  Request request_;
  Response response_;
  ::grpc::ByteBuffer response_bytes_;
  ::grpc::ServerAsyncResponseWriter<::grpc::ByteBuffer> writer_{&sctx_};
};

WalletService::WalletService(UseCases use_cases, ServiceOptions options,
                             const Authenticator& auth, Logger& logger, Metrics& metrics)
    : use_cases_(use_cases),
      options_(options),
      auth_(auth),
      logger_(logger),
      metrics_(metrics),
      queue_(options.queue) {}

WalletService::Load WalletService::load() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {running_, static_cast<int>(queue_.size())};
}

WalletService::~WalletService() { Stop(); }

void WalletService::Register(::grpc::ServerBuilder& builder) {
  builder.RegisterService(&raw_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(kTransportBytesMax));
  cq_ = builder.AddCompletionQueue();
}

void WalletService::Start() {
  auto await = [this](const auto& method) {
    using M = std::remove_cvref_t<decltype(method)>;
    for (int i = 0; i < kAwaitedPerMethod; ++i) {
      (new MethodCall<typename M::RequestType, typename M::ResponseType>(*this, method))->Await();
    }
  };
  await(kCreateWallet);
  await(kDeposit);
  await(kWithdraw);
  await(kTransfer);
  await(kBalance);
  await(kGetTransfer);
  await(kListTransfers);
  const int threads = options_.running_max + 1;  // One more than may run: see the class comment.
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

void WalletService::Loop() {
  void* tag = nullptr;
  bool ok = false;
  while (cq_->Next(&tag, &ok)) {
    auto* event = static_cast<Call::Tag*>(tag);
    event->call->On(event->event, ok);
  }
}

void WalletService::Enqueue(Call* call) {
  std::vector<Dropped> dropped;
  std::unique_lock<std::mutex> lock(mu_);
  if (call->cancelled()) {  // Its kDone came first and found nothing to withdraw.
    lock.unlock();
    call->Abandon();
    return;
  }
  // With a run slot free the call runs now whatever the queue's length (queued_max may be 0).
  const size_t length_max = running_ < options_.running_max
                                ? SIZE_MAX
                                : static_cast<size_t>(options_.queued_max);
  if (!queue_.Push(call, call->deadline(), absl::Now(), length_max, &dropped)) {
    lock.unlock();
    call->Refuse();
    return;
  }
  // Whoever queues or finishes a call looks for the next one under the same lock: no call waits
  // while a run slot is free.
  while (running_ < options_.running_max) {
    std::optional<Call*> next = queue_.Pop(absl::Now(), &dropped);
    if (!next.has_value()) break;
    ++running_;
    lock.unlock();
    Answer(dropped);
    dropped.clear();
    const absl::Duration ran = (*next)->Run();
    lock.lock();
    --running_;
    if (ran > absl::ZeroDuration()) queue_.RecordRun(ran);
  }
  lock.unlock();
  Answer(dropped);
}

void WalletService::Withdraw(Call* call) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!queue_.Remove(call)) return;  // Not waiting: running, answered, or not queued yet.
  }
  call->Abandon();
}

void WalletService::Answer(const std::vector<Dropped>& dropped) {
  for (const Dropped& d : dropped) d.item->Drop(d.why);
}

void WalletService::Awaiting(int delta) {
  std::lock_guard<std::mutex> lock(flight_mu_);
  awaiting_ += delta;
  if (awaiting_ == 0) flight_changed_.notify_all();
}

void WalletService::InFlight(int delta) {
  std::lock_guard<std::mutex> lock(flight_mu_);
  in_flight_ += delta;
  if (in_flight_ == 0) flight_changed_.notify_all();
}

bool WalletService::WaitUntilIdle(absl::Time until) {
  std::unique_lock<std::mutex> lock(flight_mu_);
  // No call awaited means gRPC has failed every request for the next call: it accepts no more.
  auto idle = [this] { return awaiting_ == 0 && in_flight_ == 0; };
  flight_changed_.wait_until(lock, absl::ToChronoTime(until),
                             [&] { return server_down_ || idle(); });
  return !server_down_ && idle();
}

void WalletService::Shutdown(::grpc::Server& server, absl::Time grace_end) {
  const absl::Time began = absl::Now();
  bool closed = false;
  std::thread closer;
  if (!threads_.empty()) {
    closer = std::thread([&] {
      if (!WaitUntilIdle(grace_end)) return;
      const absl::Time linger_end = std::min(absl::Now() + kConnectionsLinger, grace_end);
      std::unique_lock<std::mutex> lock(flight_mu_);
      flight_changed_.wait_until(lock, absl::ToChronoTime(linger_end),
                                 [&] { return server_down_; });
      if (server_down_) return;
      lock.unlock();
      // Closes the connections still open; the server object outlives this thread.
      grpc_server_cancel_all_calls(server.c_server());
      closed = true;
    });
  }
  server.Shutdown(absl::ToChronoTime(grace_end));
  {
    std::lock_guard<std::mutex> lock(flight_mu_);
    server_down_ = true;
  }
  flight_changed_.notify_all();
  if (closer.joinable()) closer.join();
  Stop();
  logger_.Log(LogLevel::kInfo, "calls drained",
              {{"drain_ms", absl::ToDoubleMilliseconds(absl::Now() - began)},
               {"idle_connections_closed", closed}});
}

void WalletService::Stop() {
  if (cq_ == nullptr || stopped_) return;
  stopped_ = true;
  cq_->Shutdown();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  Loop();  // Without threads (never started), the queue still has to be drained.
}

}  // namespace walletd::grpc_adapter
