#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "absl/time/time.h"

namespace walletd::grpc_adapter {

// The order in which waiting calls run.
enum class QueueOrder {
  kFifo,
  // First in, first out while the queue keeps up; last in, first out while it is overloaded, so
  // that the calls with the most time left run and the others give up (or are refused) instead
  // of every call waiting until its deadline is nearly gone.
  kAdaptiveLifo,
};

struct QueueOptions {
  QueueOrder order = QueueOrder::kAdaptiveLifo;
  // Overload: the oldest waiting call has waited longer than its target, the larger of
  // delay_target and delay_share_target of the time its deadline gave it on arrival. It ends
  // once the oldest has kept within its target for a whole interval. CoDel's target and interval,
  // made relative to the deadline: with 5 s deadlines a queue of 30 ms is no overload (FIFO keeps
  // the tail short: at 32 calls in flight, LIFO from 5 ms on raised walletbench's p99 from 32 to
  // 110 ms), with 50 ms deadlines it is.
  absl::Duration delay_target = absl::Milliseconds(5);
  double delay_share_target = 0.25;
  absl::Duration interval = absl::Milliseconds(100);
  // While overloaded, a call that has waited longer than this share of the time its deadline
  // gave it is refused (OVERLOADED) rather than run: it has likely lost its turn to newer calls,
  // and its client can retry or back off while it still has time. 1 or more: never.
  double overloaded_wait_share_max = 0.5;
};

// Calls admitted but not yet running, and which of them runs next. A call whose deadline has
// passed, or is too close to be met at the pace calls run now, or (while overloaded) that has
// waited longer than overloaded_wait_share_max of its time, is handed back as dropped instead
// of run: it never reaches the database. Pure bookkeeping on a clock the caller passes in, no threads: the owner
// guards it with its own mutex. `T` is a small handle (a pointer), compared with ==.
template <class T>
class CallQueue {
 public:
  enum class Drop {
    kExpired,     // The deadline passed while it waited.
    kUnmeetable,  // Less time is left than a call takes now.
    kTooOld,      // Waited too long a share of its time while overloaded.
    kEvicted,     // The oldest, pushed out of a full queue by a newer call while overloaded.
  };
  struct Dropped {
    T item;
    Drop why;
  };

  explicit CallQueue(QueueOptions options) : options_(options) {}

  size_t size() const { return entries_.size(); }
  bool overloaded() const { return overloaded_; }
  // The expected run time of a call, from the recent ones (zero before the first).
  absl::Duration run_estimate() const { return run_estimate_; }

  // Queues `item` unless `length_max` calls wait already. A full queue that is overloaded in
  // adaptive LIFO order makes room by evicting its oldest call into *dropped: the newest call has
  // the most time left, the oldest the least. Otherwise false: the new call is to be refused.
  bool Push(T item, absl::Time deadline, absl::Time now, size_t length_max,
            std::vector<Dropped>* dropped) {
    Observe(now);
    DropOldest(now, dropped);  // Also while every worker is stuck and nothing is popped.
    if (entries_.size() >= length_max) {
      if (entries_.empty() || options_.order != QueueOrder::kAdaptiveLifo || !overloaded_) {
        return false;
      }
      dropped->push_back({entries_.front().item, Drop::kEvicted});
      entries_.pop_front();
    }
    entries_.push_back({item, now, deadline});
    return true;
  }

  // The next call to run, or nullopt when none is left; calls that must not run are appended to
  // *dropped, oldest first.
  std::optional<T> Pop(absl::Time now, std::vector<Dropped>* dropped) {
    Observe(now);
    while (!entries_.empty()) {
      DropOldest(now, dropped);
      if (entries_.empty()) break;
      const bool newest = options_.order == QueueOrder::kAdaptiveLifo && overloaded_;
      const Entry entry = newest ? entries_.back() : entries_.front();
      if (newest) {
        entries_.pop_back();
      } else {
        entries_.pop_front();
      }
      if (std::optional<Drop> why = VerdictOn(entry, now)) {
        dropped->push_back({entry.item, *why});
        continue;
      }
      return entry.item;
    }
    return std::nullopt;
  }

  // Takes `item` out (its call was cancelled while it waited); false when it is not queued.
  bool Remove(const T& item) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.item == item; });
    if (it == entries_.end()) return false;
    entries_.erase(it);
    return true;
  }

  // How long a call ran, for the run estimate (an exponentially weighted mean).
  void RecordRun(absl::Duration took) {
    run_estimate_ = run_estimate_ == absl::ZeroDuration()
                        ? took
                        : run_estimate_ + (took - run_estimate_) / kRunEstimateWeight;
  }

 private:
  struct Entry {
    T item;
    absl::Time enqueued;
    absl::Time deadline;
  };

  // Each new sample moves the estimate by 1/kRunEstimateWeight of its difference.
  static constexpr int kRunEstimateWeight = 8;
  // An unmeetable drop shrinks the estimate by this factor: the estimate learns only from calls
  // that run, so without it one slow spell could refuse short deadlines forever.
  static constexpr double kUnmeetableShrink = 0.9;

  // The oldest calls are the likeliest to be dropped: sweep them first in either order, so a
  // LIFO queue does not keep dead calls at its bottom.
  void DropOldest(absl::Time now, std::vector<Dropped>* dropped) {
    while (!entries_.empty()) {
      std::optional<Drop> why = VerdictOn(entries_.front(), now);
      if (!why.has_value()) return;
      dropped->push_back({entries_.front().item, *why});
      entries_.pop_front();
    }
  }

  std::optional<Drop> VerdictOn(const Entry& entry, absl::Time now) {
    if (now >= entry.deadline) return Drop::kExpired;
    if (entry.deadline - now < run_estimate_) {
      run_estimate_ = run_estimate_ * kUnmeetableShrink;
      return Drop::kUnmeetable;
    }
    if (overloaded_) {
      if (now - entry.enqueued > (entry.deadline - entry.enqueued) *
                                     options_.overloaded_wait_share_max) {
        return Drop::kTooOld;
      }
    }
    return std::nullopt;
  }

  // At each push and pop: overloaded as soon as the oldest waiting call has waited longer than
  // its target, and until the oldest has been within its target (or none waited) at every look
  // for a whole interval. Calls in a closed loop with equal deadlines come and go in waves that
  // empty the queue for a moment; CoDel's own test (the minimum wait over an interval) reads
  // each such moment as the end of the overload and left walletd in FIFO order most of the time.
  void Observe(absl::Time now) {
    bool over = false;
    if (!entries_.empty()) {
      const Entry& oldest = entries_.front();
      const absl::Duration target =
          std::max(options_.delay_target,
                   (oldest.deadline - oldest.enqueued) * options_.delay_share_target);
      over = now - oldest.enqueued > target;
    }
    if (over) {
      overloaded_ = true;
      calm_since_ = absl::InfiniteFuture();
      return;
    }
    if (calm_since_ == absl::InfiniteFuture()) calm_since_ = now;
    if (now - calm_since_ >= options_.interval) overloaded_ = false;
  }

  const QueueOptions options_;
  std::deque<Entry> entries_;
  bool overloaded_ = false;
  absl::Time calm_since_ = absl::InfiniteFuture();  // InfiniteFuture(): not calm now.
  absl::Duration run_estimate_ = absl::ZeroDuration();
};

}  // namespace walletd::grpc_adapter
