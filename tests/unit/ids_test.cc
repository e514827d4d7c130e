#include "domain/ids.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace walletd {
namespace {

using ::walletd::testing::IsOk;
using ::walletd::testing::StatusIs;

TEST(WalletIdTest, AcceptsUuidsAndLowerCasesThem) {
  auto id = WalletId::Parse("0190B2C4-5E6F-7A8B-9C0D-1E2F3A4B5C6D");
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->str(), "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
  EXPECT_EQ(*id, *WalletId::Parse("0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"));
}

TEST(WalletIdTest, RejectsWhatIsNotAUuid) {
  for (const char* text : {"", "42", "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6",
                           "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6dd", "0190b2c4x5e6f-7a8b-9c0d-1e2f3a4b5c6d",
                           "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6g", "{0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c}"}) {
    EXPECT_THAT(WalletId::Parse(text),
                StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidWalletId))
        << text;
  }
}

TEST(TransferIdTest, HasItsOwnReason) {
  EXPECT_THAT(TransferId::Parse("nope"),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidTransferId));
}

TEST(WalletIdTest, OrdersLikeTheDatabaseOrdersUuids) {
  // PostgreSQL orders uuid by its bytes; lower-case hex text sorts the same way.
  auto low = *WalletId::Parse("0fffffff-ffff-ffff-ffff-ffffffffffff");
  auto high = *WalletId::Parse("a0000000-0000-0000-0000-000000000000");
  EXPECT_LT(low, high);
}

TEST(RequestIdTest, AcceptsPrintableKeysUpToTheLimit) {
  for (std::string text : {std::string("a"), std::string("order-17:retry_2.v1"),
                           std::string("0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"),
                           std::string(RequestId::kLengthMax, 'k')}) {
    auto id = RequestId::Parse(text);
    ASSERT_THAT(id, IsOk()) << text;
    EXPECT_EQ(id->str(), text);
  }
}

TEST(RequestIdTest, RejectsEmptyLongAndOddCharacters) {
  for (std::string text : {std::string(), std::string(RequestId::kLengthMax + 1, 'k'),
                           std::string("has space"), std::string("semi;colon"),
                           std::string("quote'"), std::string("nul\0byte", 8),
                           std::string("\xC3\xA9t\xC3\xA9")}) {
    EXPECT_THAT(RequestId::Parse(text),
                StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidRequestId))
        << text;
  }
}

}  // namespace
}  // namespace walletd
