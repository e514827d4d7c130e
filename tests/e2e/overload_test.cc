// walletd's queue of waiting calls under overload, through a real channel: a call whose deadline
// passes while it waits leaves at once and never reaches the database; once the queue is
// overloaded the newest calls run first, and a full queue gives up its oldest call.
//
// One worker is tied up on a row lock held by a side session, so that the calls behind it wait
// for exactly as long as the test decides.

#include <future>
#include <thread>

#include "tests/e2e/e2e_fixture.h"

namespace walletd::testing {
namespace {

using ::grpc::StatusCode;

class OverloadTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    locked_ = OpenWallet(100);
    sink_ = OpenWallet(0);
    from_ = OpenWallet(1000);
    to_ = OpenWallet(0);
  }
  void TearDown() override {
    if (holder_) holder_->Exec("ROLLBACK");
    stub1_.reset();
    if (walletd1_) {
      walletd1_->Signal(SIGTERM);
      EXPECT_EQ(walletd1_->Wait(absl::Seconds(10)), 0);
    }
    E2eTest::TearDown();
  }

  // walletd with one worker, so that one stuck call makes every other one wait, and `extra`.
  void StartOneWorker(const std::vector<std::string>& extra) {
    std::vector<std::string> flags = {"--workers=1", "--pool_max=2", "--queue_max=8"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    walletd1_ = StartWalletd(flags);
    ASSERT_FALSE(walletd1_->address().empty());
    stub1_ = StubFor(*walletd1_);
  }
  // Without the bound on a wait, so that calls wait as long as the test decides.
  void StartOneWorkerWithoutWaitBound() { StartOneWorker({"--queue_wait_share_max=1"}); }

  // A transfer from_ -> to_ of 1 with `rid` as its request id and x-request-id, in the
  // background.
  std::future<::grpc::Status> Send(const std::string& rid, absl::Duration timeout,
                                   const std::string& from = "", const std::string& to = "") {
    const wallet::v1::TransferRequest request =
        TransferOf(rid, from.empty() ? from_ : from, to.empty() ? to_ : to, 1);
    return std::async(std::launch::async, [this, request, rid, timeout] {
      auto ctx = Client(timeout);
      ctx->AddMetadata("x-request-id", rid);
      wallet::v1::TransferResponse response;
      return stub1_->Transfer(ctx.get(), request, &response);
    });
  }

  // Ties up the only worker: a transfer out of locked_ waits for the row lock held by holder_.
  std::future<::grpc::Status> TieUpTheWorker() {
    holder_ = LockRow(locked_);
    auto blocker = Send("blocker", absl::Seconds(20), locked_, sink_);
    if (WaitForLockWaiter()) return blocker;
    ADD_FAILURE() << "the blocker never waited for the lock";
    return blocker;
  }
  void FreeTheWorker() {
    holder_->Exec("COMMIT");
    holder_.reset();
  }

  // The position of the call line of `rid` in walletd1_'s log, or -1.
  int LinePosition(const std::string& rid) {
    const std::vector<std::string> lines = walletd1_->Lines();
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find("\"request_id\":\"" + rid + "\"") != std::string::npos) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  std::string LineOf(const std::string& rid) {
    const int at = LinePosition(rid);
    return at < 0 ? "" : walletd1_->Lines()[static_cast<size_t>(at)];
  }
  int64_t CountTransfers(const std::string& request_id_like) {
    return sql_->Int("SELECT count(*) FROM transfers WHERE request_id LIKE '" + request_id_like +
                     "'");
  }

  std::unique_ptr<WalletdProcess> walletd1_;
  std::unique_ptr<wallet::v1::WalletService::Stub> stub1_;
  std::unique_ptr<Sql> holder_;
  std::string locked_, sink_, from_, to_;
};

TEST_F(OverloadTest, CallsWhoseDeadlinePassesWhileQueuedLeaveAtOnceAndNeverReachTheDatabase) {
  ASSERT_NO_FATAL_FAILURE(StartOneWorkerWithoutWaitBound());
  auto blocker = TieUpTheWorker();
  std::vector<std::future<::grpc::Status>> late;
  for (int i = 0; i < 4; ++i) {
    late.push_back(Send("late-" + std::to_string(i), absl::Milliseconds(300)));
  }
  for (auto& call : late) EXPECT_EQ(call.get().error_code(), StatusCode::DEADLINE_EXCEEDED);
  // While the worker is still tied up, walletd has answered and logged every one of them: they
  // left the queue when their deadline passed, not when their turn came. walletd's deadline starts
  // when the call arrives, a little after the client's, so under load the client's cancellation
  // (sent when its own deadline passes) may come first: then the call is logged as CANCELLED.
  for (int i = 0; i < 4; ++i) {
    const std::string rid = "late-" + std::to_string(i);
    ASSERT_TRUE(walletd1_->WaitForLine("\"request_id\":\"" + rid + "\"", absl::Seconds(2))) << rid;
    const std::string line = LineOf(rid);
    EXPECT_TRUE(line.find("\"code\":\"DEADLINE_EXCEEDED\"") != std::string::npos ||
                line.find("\"code\":\"CANCELLED\"") != std::string::npos)
        << line;
  }
  FreeTheWorker();
  EXPECT_TRUE(blocker.get().ok());
  // A call sent now runs at once: nothing of the late ones is left in the queue.
  EXPECT_TRUE(Send("after", absl::Seconds(5)).get().ok());
  EXPECT_EQ(CountTransfers("late-%"), 0);
  EXPECT_EQ(WireBalance(to_), 1);  // "after" alone.
  ExpectLedgerMatchesBalances();
}

TEST_F(OverloadTest, OnceOverloadedTheNewestWaitingCallRunsFirst) {
  ASSERT_NO_FATAL_FAILURE(StartOneWorkerWithoutWaitBound());
  auto blocker = TieUpTheWorker();
  std::vector<std::future<::grpc::Status>> waiting;
  for (int i = 1; i <= 4; ++i) {
    waiting.push_back(Send("order-" + std::to_string(i), absl::Milliseconds(1500)));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  // The oldest has now waited over a quarter of its 1.5 s (375 ms): overloaded.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  FreeTheWorker();
  EXPECT_TRUE(blocker.get().ok());
  for (auto& call : waiting) EXPECT_TRUE(call.get().ok());
  // The answers may arrive before the test has read walletd's log lines of them.
  for (int i = 1; i <= 4; ++i) {
    const std::string rid = "order-" + std::to_string(i);
    ASSERT_TRUE(walletd1_->WaitForLine("\"request_id\":\"" + rid + "\"", absl::Seconds(2))) << rid;
  }
  EXPECT_GT(LinePosition("order-3"), LinePosition("order-4"));
  EXPECT_GT(LinePosition("order-2"), LinePosition("order-3"));
  EXPECT_GT(LinePosition("order-1"), LinePosition("order-2"));
  EXPECT_EQ(CountTransfers("order-%"), 4);
  ExpectLedgerMatchesBalances();
}

TEST_F(OverloadTest, AFullOverloadedQueueRefusesItsOldestCallNotTheNewest) {
  auto fill = [&](std::vector<std::future<::grpc::Status>>* calls, const std::string& prefix) {
    for (int i = 0; i < 8; ++i) {
      calls->push_back(Send(prefix + std::to_string(i), absl::Seconds(2)));
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  };
  ASSERT_NO_FATAL_FAILURE(StartOneWorkerWithoutWaitBound());
  auto blocker = TieUpTheWorker();
  std::vector<std::future<::grpc::Status>> queued;
  fill(&queued, "old-");  // The queue (8 places) is full.
  // Its oldest call has waited over a quarter of its 2 s: overloaded.
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  auto newest = Send("newest", absl::Seconds(10));
  // The oldest call makes room, at once and without running.
  EXPECT_THAT(queued[0].get(), GrpcIs(StatusCode::RESOURCE_EXHAUSTED, reason::kOverloaded));
  FreeTheWorker();
  EXPECT_TRUE(blocker.get().ok());
  EXPECT_TRUE(newest.get().ok());
  for (size_t i = 1; i < queued.size(); ++i) EXPECT_TRUE(queued[i].get().ok()) << i;
  EXPECT_EQ(CountTransfers("old-0"), 0);
  EXPECT_EQ(CountTransfers("old-%"), 7);
  ExpectLedgerMatchesBalances();
}

// The queue is bounded by time too: once it is overloaded, a call that has waited more than
// half its time (--queue_wait_share_max) is refused when the next call comes, even while every
// worker is stuck, so that its client can retry or back off while it still has time.
TEST_F(OverloadTest, OnceOverloadedACallThatWaitedHalfItsTimeIsRefusedBeforeItsDeadline) {
  ASSERT_NO_FATAL_FAILURE(StartOneWorker({}));
  auto blocker = TieUpTheWorker();
  const absl::Time start = absl::Now();
  auto first = Send("waited", absl::Milliseconds(600));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto second = Send("pushes-it-out", absl::Seconds(10));
  EXPECT_THAT(first.get(), GrpcIs(StatusCode::RESOURCE_EXHAUSTED, reason::kOverloaded));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(600));  // Before its deadline.
  EXPECT_NE(second.wait_for(std::chrono::milliseconds(0)), std::future_status::ready);
  FreeTheWorker();
  EXPECT_TRUE(blocker.get().ok());
  EXPECT_TRUE(second.get().ok());  // It waited a fraction of its 10 s.
  EXPECT_EQ(CountTransfers("waited"), 0);
  EXPECT_EQ(CountTransfers("pushes-it-out"), 1);
  ExpectLedgerMatchesBalances();
}

}  // namespace
}  // namespace walletd::testing
