#include "application/create_wallet.h"

#include "tests/unit/fixtures.h"

namespace walletd::testing {
namespace {

using ::testing::_;
using ::testing::Invoke;
using ::testing::Return;

class CreateWalletTest : public UseCaseTest {
 protected:
  CreateWalletHandler handler_{wallets_, clock_, ids_};
};

TEST_F(CreateWalletTest, OpensAnEmptyWalletWithoutATransaction) {
  EXPECT_CALL(tx_, WithinTransaction(_, _, _)).Times(0);
  EXPECT_CALL(wallets_, Create(_, _)).WillOnce(Invoke([](Context&, const Wallet& w) {
    EXPECT_EQ(w.id().str(), kNewWalletId);
    EXPECT_EQ(w.request_id().str(), "open-1");
    EXPECT_EQ(w.currency().code(), "JPY");
    EXPECT_EQ(w.balance(), 0);
    EXPECT_EQ(w.version(), 0);
    return absl::OkStatus();
  }));
  auto result = handler_(ctx_, {"open-1", "JPY", ""});
  ASSERT_THAT(result, IsOk());
  EXPECT_FALSE(result->replayed);
  EXPECT_EQ(result->wallet.id().str(), kNewWalletId);
  EXPECT_EQ(result->wallet.created_at(), kNow);
}

TEST_F(CreateWalletTest, InvalidInputTouchesNothing) {
  EXPECT_THAT(handler_(ctx_, {"open-1", "YEN", ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidCurrency));
  EXPECT_THAT(handler_(ctx_, {"", "JPY", ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidRequestId));
}

TEST_F(CreateWalletTest, ReplayReturnsTheWalletTheFirstRequestCreated) {
  EXPECT_CALL(wallets_, Create(_, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
                                   "taken")));
  EXPECT_CALL(wallets_, FindByRequestId(_, _, _)).WillOnce(Return(StoredWallet(kA, 42, 3, "JPY")));
  auto result = handler_(ctx_, {"open-1", "JPY", ""});
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->replayed);
  EXPECT_EQ(result->wallet.id().str(), kA);
  EXPECT_EQ(result->wallet.balance(), 42);
}

TEST_F(CreateWalletTest, RequestIdReusedForAnotherCurrencyIsRefused) {
  EXPECT_CALL(wallets_, Create(_, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
                                   "taken")));
  EXPECT_CALL(wallets_, FindByRequestId(_, _, _)).WillOnce(Return(StoredWallet(kA, 0, 0, "EUR")));
  EXPECT_THAT(handler_(ctx_, {"open-1", "JPY", ""}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kIdempotencyKeyReused));
}

TEST_F(CreateWalletTest, StorageErrorsPassThrough) {
  EXPECT_CALL(wallets_, Create(_, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kUnavailable, reason::kDatabaseUnavailable,
                                   "down")));
  EXPECT_THAT(handler_(ctx_, {"open-1", "JPY", ""}),
              StatusIs(absl::StatusCode::kUnavailable, reason::kDatabaseUnavailable));
}

TEST_F(CreateWalletTest, ExpiredDeadlineStopsBeforeStorage) {
  Context expired(absl::Now() - absl::Milliseconds(1), "late");
  expired.set_caller(&caller_);
  EXPECT_THAT(handler_(expired, {"open-1", "JPY", ""}),
              StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
}

}  // namespace
}  // namespace walletd::testing
