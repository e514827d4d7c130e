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
  // Overload, as CoDel tells it: the oldest waiting call has waited longer than delay_target at
  // every look during a whole interval (the queue never drained within the target).
  absl::Duration delay_target = absl::Milliseconds(5);
  absl::Duration interval = absl::Milliseconds(100);
  // While overloaded, a call that has waited longer than this is refused rather than run: it
  // would mostly add delay to the others. InfiniteDuration(): never.
  absl::Duration overloaded_wait_max = absl::InfiniteDuration();
};

// Calls admitted but not yet running, and which of them runs next. A call whose deadline has
// passed, or is too close to be met at the pace calls run now, or (while overloaded) that has
// waited longer than overloaded_wait_max, is handed back as dropped instead of run: it never
// reaches the database. Pure bookkeeping on a clock the caller passes in, no threads: the owner
// guards it with its own mutex. `T` is a small handle (a pointer), compared with ==.
template <class T>
class CallQueue {
 public:
  enum class Drop {
    kExpired,     // The deadline passed while it waited.
    kUnmeetable,  // Less time is left than a call takes now.
    kTooOld,      // Waited longer than overloaded_wait_max while overloaded.
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
      // The oldest calls are the likeliest to be dropped: sweep them first in either order, so a
      // LIFO queue does not keep dead calls at its bottom.
      while (!entries_.empty()) {
        std::optional<Drop> why = VerdictOn(entries_.front(), now);
        if (!why.has_value()) break;
        dropped->push_back({entries_.front().item, *why});
        entries_.pop_front();
      }
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

  std::optional<Drop> VerdictOn(const Entry& entry, absl::Time now) {
    if (now >= entry.deadline) return Drop::kExpired;
    if (entry.deadline - now < run_estimate_) {
      run_estimate_ = run_estimate_ * kUnmeetableShrink;
      return Drop::kUnmeetable;
    }
    if (overloaded_ && now - entry.enqueued > options_.overloaded_wait_max) return Drop::kTooOld;
    return std::nullopt;
  }

  // CoDel's test, on the oldest call's wait so far at each push and pop.
  void Observe(absl::Time now) {
    const absl::Duration standing =
        entries_.empty() ? absl::ZeroDuration() : now - entries_.front().enqueued;
    if (entries_.empty()) overloaded_ = false;  // Drained: whatever overload there was is over.
    standing_min_ = std::min(standing_min_, standing);
    if (now < interval_end_) return;
    overloaded_ = standing_min_ > options_.delay_target;
    standing_min_ = absl::InfiniteDuration();
    interval_end_ = now + options_.interval;
  }

  const QueueOptions options_;
  std::deque<Entry> entries_;
  bool overloaded_ = false;
  absl::Duration standing_min_ = absl::InfiniteDuration();
  absl::Time interval_end_ = absl::InfinitePast();
  absl::Duration run_estimate_ = absl::ZeroDuration();
};

}  // namespace walletd::grpc_adapter
