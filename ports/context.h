#pragma once

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "domain/caller.h"

namespace walletd {

/// State an adapter attaches to a request, such as the Postgres adapter's open transaction. The
/// core never looks inside; the adapter that set it finds it again through Context::slot().
class ContextSlot {
 public:
  virtual ~ContextSlot() = default;
};

/// A request-scoped context: the caller's deadline, its cancellation, a request id for logs, the
/// authenticated caller, and one opaque slot for an adapter's state. Created by the driving adapter (gRPC) per call and
/// passed by reference through use cases to the driven adapters; never copied, never stored beyond
/// the call. Cancel() may be called from any thread; everything else belongs to the thread that
/// runs the call.
class Context {
 public:
  Context(absl::Time deadline, std::string request_id)
      : deadline_(deadline), request_id_(std::move(request_id)) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  absl::Time deadline() const { return deadline_; }
  const std::string& request_id() const { return request_id_; }

  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  void Cancel() { cancelled_.store(true, std::memory_order_release); }

  /// OK while the call may go on; CANCELLED once cancelled, DEADLINE_EXCEEDED once the deadline
  /// has passed (both with their reason payloads).
  absl::Status Alive() const;

  /// Who calls, as the driving adapter authenticated it; nullptr when nobody was (the use cases
  /// then refuse). Not owned: it outlives the call.
  const Caller* caller() const { return caller_; }
  void set_caller(const Caller* caller) { caller_ = caller; }

  /// The adapter state set by set_slot(), or nullptr. Not owned.
  ContextSlot* slot() const { return slot_; }
  void set_slot(ContextSlot* slot) { slot_ = slot; }

 private:
  const absl::Time deadline_;
  const std::string request_id_;
  std::atomic<bool> cancelled_{false};
  const Caller* caller_ = nullptr;
  ContextSlot* slot_ = nullptr;
};

}  // namespace walletd
