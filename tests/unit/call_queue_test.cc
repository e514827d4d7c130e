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

QueueOptions Options(QueueOrder order, absl::Duration overloaded_wait_max = absl::InfiniteDuration()) {
  QueueOptions options;
  options.order = order;
  options.overloaded_wait_max = overloaded_wait_max;
  return options;
}

// Keeps the queue's oldest call waiting past the target for two intervals: overloaded.
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

TEST(CallQueueTest, OverloadEndsWhenTheQueueDrains) {
  Queue queue(Options(QueueOrder::kAdaptiveLifo));
  std::vector<Queue::Dropped> dropped;
  Overload(queue, &dropped);
  while (queue.Pop(At(251), &dropped).has_value()) {}
  queue.Push(7, At(60'000), At(252), kRoomy, &dropped);
  queue.Push(8, At(60'000), At(253), kRoomy, &dropped);
  EXPECT_FALSE(queue.overloaded());
  EXPECT_EQ(queue.Pop(At(254), &dropped), 7);
}

TEST(CallQueueTest, OverloadedQueueRefusesCallsThatWaitedTooLong) {
  Queue queue(Options(QueueOrder::kFifo, absl::Milliseconds(100)));
  std::vector<Queue::Dropped> dropped;
  Overload(queue, &dropped);
  // Called at 251 ms: the calls pushed up to 150 ms waited more than 100 ms.
  EXPECT_EQ(queue.Pop(At(251), &dropped), 1160);
  ASSERT_EQ(dropped.size(), 17u);
  for (const auto& d : dropped) EXPECT_EQ(d.why, Drop::kTooOld);
  EXPECT_EQ(dropped.front().item, 0);
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
