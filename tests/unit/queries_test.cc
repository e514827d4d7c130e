// Balance and GetTransfer: thin reads with input validation.

#include "application/balance.h"
#include "application/get_transfer.h"
#include "tests/unit/fixtures.h"

namespace walletd::testing {
namespace {

using ::testing::_;
using ::testing::Return;

class BalanceTest : public UseCaseTest {
 protected:
  BalanceHandler handler_{wallets_};
};

TEST_F(BalanceTest, ReadsTheWallet) {
  EXPECT_CALL(wallets_, Get(_, *WalletId::Parse(kA))).WillOnce(Return(StoredWallet(kA, 77, 5)));
  auto wallet = handler_(ctx_, {kA});
  ASSERT_THAT(wallet, IsOk());
  EXPECT_EQ(wallet->balance(), 77);
  EXPECT_EQ(wallet->version(), 5);
}

TEST_F(BalanceTest, ErrorBranches) {
  EXPECT_THAT(handler_(ctx_, {"bogus"}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidWalletId));
  EXPECT_CALL(wallets_, Get(_, _)).WillOnce(Return(NotFound(reason::kWalletNotFound, "none")));
  EXPECT_THAT(handler_(ctx_, {kA}), StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  Context expired(absl::Now() - absl::Milliseconds(1), "late");
  expired.set_caller(&caller_);
  EXPECT_THAT(handler_(expired, {kA}),
              StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
}

class GetTransferTest : public UseCaseTest {
 protected:
  GetTransferHandler handler_{transfers_};
};

TEST_F(GetTransferTest, ReadsTheTransfer) {
  Wallet a = StoredWallet(kA, 10, 1);
  Transfer stored = *Movement::Withdrawal("w", kA, 10, "EUR")
                         ->Apply(*TransferId::Parse(kTransferId), kNow, {&a});
  EXPECT_CALL(transfers_, FindById(_, *TransferId::Parse(kTransferId))).WillOnce(Return(stored));
  auto transfer = handler_(ctx_, {kTransferId});
  ASSERT_THAT(transfer, IsOk());
  EXPECT_EQ(transfer->kind, TransferKind::kWithdrawal);
  EXPECT_EQ(transfer->postings.at(0).balance_after, 0);
}

TEST_F(GetTransferTest, ErrorBranches) {
  EXPECT_THAT(handler_(ctx_, {"bogus"}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidTransferId));
  EXPECT_CALL(transfers_, FindById(_, _))
      .WillOnce(Return(NotFound(reason::kTransferNotFound, "none")));
  EXPECT_THAT(handler_(ctx_, {kTransferId}),
              StatusIs(absl::StatusCode::kNotFound, reason::kTransferNotFound));
}

}  // namespace
}  // namespace walletd::testing
