#include "application/list_transfers.h"

#include "tests/unit/fixtures.h"

namespace walletd::testing {
namespace {

using ::testing::_;
using ::testing::Eq;
using ::testing::Return;

// `count` deposits into kA, newest first, with wallet versions from `top` down.
std::vector<Transfer> History(int count, int64_t top) {
  std::vector<Transfer> out;
  for (int i = 0; i < count; ++i) {
    Wallet a = StoredWallet(kA, 0, top - i - 1);
    out.push_back(*Movement::Deposit("d" + std::to_string(i), kA, 1, "EUR")
                       ->Apply(*TransferId::Parse(kTransferId), kNow, nullptr, &a));
  }
  return out;
}

class ListTransfersTest : public UseCaseTest {
 protected:
  ListTransfersHandler handler_{wallets_, transfers_};
};

TEST_F(ListTransfersTest, FirstPageAsksForOneMoreRowThanItReturns) {
  EXPECT_CALL(transfers_, ListByWallet(_, *WalletId::Parse(kA), Eq(std::nullopt), 3))
      .WillOnce(Return(History(3, 10)));
  auto page = handler_(ctx_, {kA, 2, ""});
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->transfers.size(), 2u);
  EXPECT_EQ(page->transfers[1].postings[0].wallet_version, 9);
  ASSERT_FALSE(page->next_page_token.empty());
  EXPECT_EQ(*DecodePageToken(*WalletId::Parse(kA), page->next_page_token), 9);
}

TEST_F(ListTransfersTest, NextPageContinuesBelowTheTokensVersion) {
  std::string token = EncodePageToken(*WalletId::Parse(kA), 9);
  EXPECT_CALL(transfers_, ListByWallet(_, _, Eq(std::optional<int64_t>(9)), 3))
      .WillOnce(Return(History(1, 8)));
  auto page = handler_(ctx_, {kA, 2, token});
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->transfers.size(), 1u);
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST_F(ListTransfersTest, PageSizeDefaultsAndIsCapped) {
  EXPECT_CALL(transfers_, ListByWallet(_, _, _, ListTransfersHandler::kPageSizeDefault + 1))
      .WillOnce(Return(History(1, 1)));
  EXPECT_THAT(handler_(ctx_, {kA, 0, ""}), IsOk());
  EXPECT_CALL(transfers_, ListByWallet(_, _, _, ListTransfersHandler::kPageSizeMax + 1))
      .WillOnce(Return(History(1, 1)));
  EXPECT_THAT(handler_(ctx_, {kA, 1'000'000, ""}), IsOk());
}

TEST_F(ListTransfersTest, EmptyHistoryOfAnExistingWalletIsAnEmptyPage) {
  EXPECT_CALL(transfers_, ListByWallet(_, _, _, _)).WillOnce(Return(std::vector<Transfer>{}));
  EXPECT_CALL(wallets_, Get(_, *WalletId::Parse(kA))).WillOnce(Return(StoredWallet(kA, 0, 0)));
  auto page = handler_(ctx_, {kA, 10, ""});
  ASSERT_THAT(page, IsOk());
  EXPECT_TRUE(page->transfers.empty());
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST_F(ListTransfersTest, UnknownWalletIsNotFound) {
  EXPECT_CALL(transfers_, ListByWallet(_, _, _, _)).WillOnce(Return(std::vector<Transfer>{}));
  EXPECT_CALL(wallets_, Get(_, _)).WillOnce(Return(NotFound(reason::kWalletNotFound, "none")));
  EXPECT_THAT(handler_(ctx_, {kA, 10, ""}),
              StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
}

TEST_F(ListTransfersTest, BadInputIsRefusedBeforeStorage) {
  EXPECT_THAT(handler_(ctx_, {"bogus", 10, ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidWalletId));
  EXPECT_THAT(handler_(ctx_, {kA, -1, ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidPageSize));
  EXPECT_THAT(handler_(ctx_, {kA, 10, "!!!"}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidPageToken));
  EXPECT_THAT(handler_(ctx_, {kA, 10, EncodePageToken(*WalletId::Parse(kB), 5)}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidPageToken));
  EXPECT_THAT(handler_(ctx_, {kA, 10, EncodePageToken(*WalletId::Parse(kA), 0)}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidPageToken));
}

}  // namespace
}  // namespace walletd::testing
