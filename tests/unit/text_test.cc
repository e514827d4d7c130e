#include "domain/text.h"

#include <string>

#include "domain/ids.h"
#include "domain/money.h"
#include "gtest/gtest.h"

namespace walletd {
namespace {

TEST(Utf8Test, AcceptsWellFormedTextOfEveryLength) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("EUR"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9"));          // é
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));      // €
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x92\xB6"));  // a banknote, beyond the BMP
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
  EXPECT_EQ(Utf8SequenceLength("a\xE2\x82\xAC", 1), 3u);
}

TEST(Utf8Test, RejectsStrayOverlongSurrogateTooLargeAndCutSequences) {
  for (std::string text : {"\x80", "\xBF", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF",
                           "\xF0\x80\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
                           "\xFF", "\xC3", "\xE2\x82", "\xF0\x9F\x92", "\xE2\x28\xA1", "a\xC3"}) {
    EXPECT_FALSE(IsValidUtf8(text)) << QuoteUntrusted(text, 16);
  }
}

TEST(QuoteUntrustedTest, KeepsPrintableAsciiAndEscapesTheRest) {
  EXPECT_EQ(QuoteUntrusted("EUR", 16), "\"EUR\"");
  EXPECT_EQ(QuoteUntrusted("", 16), "\"\"");
  EXPECT_EQ(QuoteUntrusted("a\"b\\c", 16), R"("a\"b\\c")");
  EXPECT_EQ(QuoteUntrusted(std::string("n\0l\n\x7f", 5), 16), R"("n\x00l\x0a\x7f")");
  EXPECT_EQ(QuoteUntrusted("\xE2\x82\xAC", 16), R"("\xe2\x82\xac")");
  EXPECT_EQ(QuoteUntrusted("\xFF\xC3", 16), R"("\xff\xc3")");
}

TEST(QuoteUntrustedTest, CutsBeforeACharacterNeverInsideOne) {
  EXPECT_EQ(QuoteUntrusted("ABCDEF", 4), "\"ABCD\"...");
  EXPECT_EQ(QuoteUntrusted("ABCD", 4), "\"ABCD\"");
  // "€€" is 6 bytes: a cut at 4 or 5 would split the second €.
  EXPECT_EQ(QuoteUntrusted("\xE2\x82\xAC\xE2\x82\xAC", 4), R"("\xe2\x82\xac"...)");
  EXPECT_EQ(QuoteUntrusted("\xE2\x82\xAC\xE2\x82\xAC", 5), R"("\xe2\x82\xac"...)");
  EXPECT_EQ(QuoteUntrusted("\xE2\x82\xAC\xE2\x82\xAC", 3), R"("\xe2\x82\xac"...)");
  EXPECT_EQ(QuoteUntrusted("\xE2\x82\xAC", 2), "\"\"...");
  // Continuation bytes without a start are cut like any byte, at most three back.
  EXPECT_EQ(QuoteUntrusted("\x80\x80\x80\x80\x80\x80", 5), R"("\x80\x80"...)");
}

// Every message that echoes a client's text is valid UTF-8, however the text was cut, so strict
// proto3 clients can decode the google.rpc.Status that carries it.
TEST(EchoTest, MessagesEchoingInputAreValidUtf8) {
  std::string euros;
  for (int i = 0; i < 20; ++i) euros += "\xE2\x82\xAC";
  for (const std::string& text : {euros, "E" + euros, "EU" + euros, std::string("\xFF\xFE"),
                                  std::string(40, 'a') + "\xC3\xA9"}) {
    const absl::Status currency = Currency::Parse(text).status();
    EXPECT_TRUE(IsValidUtf8(AsStd(currency.message()))) << currency.message();
    const absl::Status wallet = WalletId::Parse(text).status();
    EXPECT_TRUE(IsValidUtf8(AsStd(wallet.message()))) << wallet.message();
    const absl::Status transfer = TransferId::Parse(text).status();
    EXPECT_TRUE(IsValidUtf8(AsStd(transfer.message()))) << transfer.message();
    const absl::Status request = RequestId::Parse(text).status();
    EXPECT_TRUE(IsValidUtf8(AsStd(request.message()))) << request.message();
  }
}

TEST(EchoTest, EchoedInputIsQuotedAndEscaped) {
  EXPECT_EQ(Currency::Parse("E\"R").status().message(),
            R"(currency must be an ISO-4217 code such as "EUR", got "E\"R")");
  EXPECT_EQ(WalletId::Parse("\xE2\x82\xAC").status().message(),
            R"(wallet id must be a UUID such as "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", got "\xe2\x82\xac")");
}

}  // namespace
}  // namespace walletd
