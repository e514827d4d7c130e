#include "application/list_transfers.h"

#include "absl/strings/escaping.h"
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
                       ->Apply(*TransferId::Parse(kTransferId), kNow, {&a}));
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

// A token spelled as walletd would spell it, for a wallet that does not exist: the answer is the
// unknown wallet's, not an empty page.
TEST_F(ListTransfersTest, UnknownWalletWithAWellFormedTokenIsNotFound) {
  EXPECT_CALL(transfers_, ListByWallet(_, _, Eq(std::optional<int64_t>(3)), _))
      .WillOnce(Return(std::vector<Transfer>{}));
  EXPECT_CALL(wallets_, Get(_, *WalletId::Parse(kA)))
      .WillOnce(Return(NotFound(reason::kWalletNotFound, "none")));
  EXPECT_THAT(handler_(ctx_, {kA, 2, EncodePageToken(*WalletId::Parse(kA), 3)}),
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

// A token spelled by hand: "v1:<wallet>:<version>" in web-safe base64, as EncodePageToken spells it.
std::string HandMadeToken(const std::string& plain) { return absl::WebSafeBase64Escape(plain); }

TEST_F(ListTransfersTest, OnlyTheCanonicalSpellingOfATokenIsAccepted) {
  const WalletId a = *WalletId::Parse(kA);
  const std::string prefix = std::string("v1:") + kA + ":";
  ASSERT_EQ(HandMadeToken(prefix + "9"), EncodePageToken(a, 9));
  // Each decodes to version 9 with a lenient parser; none is what walletd hands out.
  const std::string spellings[] = {
      HandMadeToken(prefix + "+9"),  HandMadeToken(prefix + " 9"),
      HandMadeToken(prefix + "9 "),  HandMadeToken(prefix + "09"),
      HandMadeToken(prefix + "9\n"), EncodePageToken(a, 9) + "=",
      EncodePageToken(a, 9) + "==",  " " + EncodePageToken(a, 9),
  };
  for (const std::string& token : spellings) {
    EXPECT_THAT(DecodePageToken(a, token),
                StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidPageToken))
        << token;
    EXPECT_THAT(handler_(ctx_, {kA, 10, token}),
                StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidPageToken))
        << token;
  }
}

TEST_F(ListTransfersTest, ATokenOfAnotherWalletIsRefusedEvenWhenItsWalletIdIsSpelledOtherwise) {
  const WalletId a = *WalletId::Parse(kA);
  EXPECT_THAT(DecodePageToken(a, EncodePageToken(*WalletId::Parse(kB), 9)),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidPageToken));
  EXPECT_THAT(DecodePageToken(a, HandMadeToken("v1:00000000-0000-0000-0000-00000000000A:9")),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidPageToken));
}

TEST_F(ListTransfersTest, ATokenContinuesAtAnyPageSize) {
  // The token holds a position, not a page: a client may change page_size between pages.
  const std::string token = EncodePageToken(*WalletId::Parse(kA), 9);
  EXPECT_CALL(transfers_, ListByWallet(_, _, Eq(std::optional<int64_t>(9)), 6))
      .WillOnce(Return(History(1, 8)));
  EXPECT_THAT(handler_(ctx_, {kA, 5, token}), IsOk());
}

}  // namespace
}  // namespace walletd::testing
