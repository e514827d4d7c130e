// The gRPC adapter's queue of waiting calls: which runs next, and which never run.

#include "adapters/grpc/call_queue.h"

#include <vector>

#include "gtest/gtest.h"

namespace walletd::grpc_adapter {
namespace {

using Queue = CallQueue<int>;
using Drop = Queue::Drop;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);
absl::Time At(int ms) { return kT0 + absl::Milliseconds(ms); }
constexpr size_t kRoomy = 100;

// A fixed 5 ms target (none relative to the deadline), and no refusal for waiting unless
// `wait_share_max` is below 1.
QueueOptions Options(QueueOrder order, double wait_share_max = 1) {
  QueueOptions options;
  options.order = order;
  options.delay_share_target = 0;
  options.overloaded_wait_share_max = wait_share_max;
  return options;
}

// Keeps the queue's oldest call waiting for 250 ms: overloaded.
void Overload(Queue& queue, std::vector<Queue::Dropped>* dropped) {
  ASSERT_TRUE(queue.Push(0, At(60'000), At(0), kRoomy, dropped));
  for (int ms = 0; ms <= 250; ms += 10) queue.Push(1000 + ms, At(60'000), At(ms), kRoomy, dropped);
  ASSERT_TRUE(queue.overloaded());
}

TEST(CallQueueTest, RunsInArrivalOrderWhileItKeepsUp) {
  for (QueueOrder order : {QueueOrder::kFifo, QueueOrder::kAdaptiveLifo}) {
    Queue queue(Options(order));
    std::vector<Queue::Dropped> dropped;
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(queue.Push(i, At(10'000), At(i), kRoomy, &dropped));
    EXPECT_FALSE(queue.overloaded());
    EXPECT_EQ(queue.Pop(At(4), &dropped), 1);
    EXPECT_EQ(queue.Pop(At(4), &dropped), 2);
    EXPECT_EQ(queue.Pop(At(4), &dropped), 3);
    EXPECT_EQ(queue.Pop(At(4), &dropped), std::nullopt);
    EXPECT_TRUE(dropped.empty());
  }
}

TEST(CallQueueTest, ACallPastItsDeadlineIsDroppedNotRun) {
  Queue queue(Options(QueueOrder::kFifo));
  std::vector<Queue::Dropped> dropped;
  queue.Push(1, At(50), At(0), kRoomy, &dropped);
  queue.Push(2, At(500), At(0), kRoomy, &dropped);
  EXPECT_EQ(queue.Pop(At(50), &dropped), 2);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].item, 1);
  EXPECT_EQ(dropped[0].why, Drop::kExpired);
}

TEST(CallQueueTest, ACallWithLessTimeLeftThanCallsTakeIsNotStarted) {
  Queue queue(Options(QueueOrder::kFifo));
  for (int i = 0; i < 50; ++i) queue.RecordRun(absl::Milliseconds(20));
  EXPECT_EQ(queue.run_estimate(), absl::Milliseconds(20));
  std::vector<Queue::Dropped> dropped;
  queue.Push(1, At(15), At(0), kRoomy, &dropped);   // 15 ms left: cannot make it.
  queue.Push(2, At(100), At(0), kRoomy, &dropped);  // 100 ms left: can.
  EXPECT_EQ(queue.Pop(At(0), &dropped), 2);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].item, 1);
  EXPECT_EQ(dropped[0].why, Drop::kUnmeetable);
}

TEST(CallQueueTest, UnmeetableDropsShrinkTheEstimateSoShortDeadlinesRunAgain) {
  Queue queue(Options(QueueOrder::kFifo));
  queue.RecordRun(absl::Seconds(5));  // One slow spell.
  std::vector<Queue::Dropped> dropped;
  int ran = 0;
  for (int i = 0; i < 100 && ran == 0; ++i) {
    queue.Push(i, At(100), At(0), kRoomy, &dropped);
    ran += queue.Pop(At(0), &dropped).has_value();
  }
  EXPECT_EQ(ran, 1) << "calls with 100 ms left were refused for good";
  EXPECT_LT(queue.run_estimate(), absl::Milliseconds(100));
}

TEST(CallQueueTest, OverloadedAdaptiveLifoRunsTheNewestFirst) {
  Queue queue(Options(QueueOrder::kAdaptiveLifo));
  std::vector<Queue::Dropped> dropped;
  Overload(queue, &dropped);
  EXPECT_EQ(queue.Pop(At(251), &dropped), 1250);
  EXPECT_EQ(queue.Pop(At(252), &dropped), 1240);
  EXPECT_TRUE(dropped.empty());
}

TEST(CallQueueTest, OverloadedFifoStillRunsTheOldestFirst) {
  Queue queue(Options(QueueOrder::kFifo));
  std::vector<Queue::Dropped> dropped;
  Overload(queue, &dropped);
  EXPECT_EQ(queue.Pop(At(251), &dropped), 0);
}

TEST(CallQueueTest, OverloadBeginsAtOnceAndEndsAfterAnIntervalWithinTheTarget) {
  Queue queue(Options(QueueOrder::kAdaptiveLifo));
  std::vector<Queue::Dropped> dropped;
  queue.Push(1, At(60'000), At(0), kRoomy, &dropped);
  queue.Push(2, At(60'000), At(4), kRoomy, &dropped);
  EXPECT_FALSE(queue.overloaded());
  queue.Push(3, At(60'000), At(6), kRoomy, &dropped);  // The oldest has waited 6 ms.
  EXPECT_TRUE(queue.overloaded());
  EXPECT_EQ(queue.Pop(At(6), &dropped), 3);
  while (queue.Pop(At(7), &dropped).has_value()) {}
  // A queue that empties for a moment is not over its overload yet...
  queue.Push(4, At(60'000), At(50), kRoomy, &dropped);
  queue.Push(5, At(60'000), At(51), kRoomy, &dropped);
  EXPECT_TRUE(queue.overloaded());
  EXPECT_EQ(queue.Pop(At(52), &dropped), 5);
  EXPECT_EQ(queue.Pop(At(52), &dropped), 4);
  // ...but one that kept within the target for 100 ms is.
  queue.Push(6, At(60'000), At(107), kRoomy, &dropped);
  queue.Push(7, At(60'000), At(108), kRoomy, &dropped);
  EXPECT_FALSE(queue.overloaded());
  EXPECT_EQ(queue.Pop(At(109), &dropped), 6);
  EXPECT_TRUE(dropped.empty());
}

TEST(CallQueueTest, OverloadedQueueRefusesCallsThatWaitedTooLongAShareOfTheirTime) {
  Queue queue(Options(QueueOrder::kFifo, /*wait_share_max=*/0.5));
  std::vector<Queue::Dropped> dropped;
  // Each call has 200 ms: waiting over 100 ms of them while overloaded is too long. Each push
  // pushes out the calls that waited too long by then, long before their deadline.
  for (int ms = 0; ms <= 250; ms += 10) {
    queue.Push(ms, At(ms + 200), At(ms), kRoomy, &dropped);
    for (const auto& d : dropped) EXPECT_GT(ms - d.item, 100) << d.item << " pushed out at " << ms;
  }
  ASSERT_TRUE(queue.overloaded());
  EXPECT_EQ(queue.Pop(At(251), &dropped), 160);  // 150 waited 101 ms, 160 91 ms.
  ASSERT_EQ(dropped.size(), 16u);
  for (size_t i = 0; i < dropped.size(); ++i) {
    EXPECT_EQ(dropped[i].item, static_cast<int>(10 * i));
    EXPECT_EQ(dropped[i].why, Drop::kTooOld) << i;
  }
}

TEST(CallQueueTest, ANewCallPushesOutTheCallsThatWaitedTooLongWhileNoneIsPopped) {
  Queue queue(Options(QueueOrder::kAdaptiveLifo, /*wait_share_max=*/0.5));
  std::vector<Queue::Dropped> dropped;
  queue.Push(1, At(20), At(0), kRoomy, &dropped);  // 20 ms: too long a wait beyond 10 ms.
  queue.Push(2, At(60'000), At(8), kRoomy, &dropped);
  EXPECT_TRUE(queue.overloaded());
  EXPECT_TRUE(dropped.empty());
  queue.Push(3, At(60'000), At(12), kRoomy, &dropped);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].item, 1);
  EXPECT_EQ(dropped[0].why, Drop::kTooOld);
  EXPECT_EQ(queue.size(), 2u);
}

TEST(CallQueueTest, OverloadIsAWaitLongForTheCallsDeadline) {
  Queue queue{QueueOptions{}};  // 5 ms, or a quarter of the deadline's time if that is more.
  std::vector<Queue::Dropped> dropped;
  queue.Push(1, At(5000), At(0), kRoomy, &dropped);
  queue.Push(2, At(6000), At(1000), kRoomy, &dropped);
  EXPECT_FALSE(queue.overloaded()) << "1 s of 5 s is an ordinary wait";
  queue.Push(3, At(6300), At(1300), kRoomy, &dropped);
  EXPECT_TRUE(queue.overloaded());
  EXPECT_TRUE(dropped.empty());

  Queue tight{QueueOptions{}};
  tight.Push(1, At(40), At(0), kRoomy, &dropped);
  tight.Push(2, At(48), At(8), kRoomy, &dropped);
  EXPECT_FALSE(tight.overloaded()) << "8 ms of 40 is within a quarter";
  tight.Push(3, At(51), At(11), kRoomy, &dropped);
  EXPECT_TRUE(tight.overloaded());
}

TEST(CallQueueTest, FullQueueRefusesTheNewCallUnlessOverloadedInLifoOrder) {
  std::vector<Queue::Dropped> dropped;
  Queue fifo(Options(QueueOrder::kFifo));
  EXPECT_TRUE(fifo.Push(1, At(60'000), At(0), 1, &dropped));
  EXPECT_FALSE(fifo.Push(2, At(60'000), At(1), 1, &dropped));
  EXPECT_TRUE(dropped.empty());

  Queue lifo(Options(QueueOrder::kAdaptiveLifo));
  Overload(lifo, &dropped);
  const size_t full = lifo.size();
  EXPECT_TRUE(lifo.Push(99, At(60'000), At(251), full, &dropped));
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].item, 0);  // The oldest makes room.
  EXPECT_EQ(dropped[0].why, Drop::kEvicted);
  EXPECT_EQ(lifo.size(), full);
  EXPECT_EQ(lifo.Pop(At(252), &dropped), 99);
}

TEST(CallQueueTest, RemoveTakesOutACancelledCall) {
  Queue queue(Options(QueueOrder::kFifo));
  std::vector<Queue::Dropped> dropped;
  queue.Push(1, At(1000), At(0), kRoomy, &dropped);
  queue.Push(2, At(1000), At(0), kRoomy, &dropped);
  EXPECT_TRUE(queue.Remove(1));
  EXPECT_FALSE(queue.Remove(1));
  EXPECT_EQ(queue.Pop(At(1), &dropped), 2);
  EXPECT_EQ(queue.Pop(At(1), &dropped), std::nullopt);
}

}  // namespace
}  // namespace walletd::grpc_adapter
