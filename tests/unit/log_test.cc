// The JSON logger: every line is one JSON object in valid UTF-8, whatever bytes it was given.

#include "adapters/system/log.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "domain/text.h"
#include "gtest/gtest.h"

namespace walletd {
namespace {

// Logs one line with `value` in field "v" and returns the line as written.
std::string LineWith(std::string_view value) {
  FILE* file = std::tmpfile();
  EXPECT_NE(file, nullptr);
  JsonLogger logger(LogLevel::kInfo, fileno(file));
  logger.Log(LogLevel::kInfo, "test", {{"v", value}});
  std::rewind(file);
  std::string line;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, file)) line.append(buf, n);
  std::fclose(file);
  return line;
}

// The field "v" of `line` as a JSON parser reads it; fails the test when the line is no JSON.
std::string ParsedValue(const std::string& line) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << line;
  auto it = parsed.fields().find("v");
  return it == parsed.fields().end() ? "<missing>" : it->second.string_value();
}

TEST(LoggerTest, EveryByteValueGivesOneValidJsonLine) {
  for (int b = 0; b < 256; ++b) {
    const std::string value = "<" + std::string(1, static_cast<char>(b)) + ">";
    const std::string line = LineWith(value);
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "byte " << b;
    EXPECT_TRUE(IsValidUtf8(line)) << "byte " << b;
    const std::string parsed = ParsedValue(line);
    if (b < 0x80) {
      EXPECT_EQ(parsed, value) << "byte " << b;
    } else {
      EXPECT_EQ(parsed, "<\xEF\xBF\xBD>") << "byte " << b;  // U+FFFD, the replacement character.
    }
  }
}

TEST(LoggerTest, KeepsValidUtf8AndReplacesEachInvalidByte) {
  EXPECT_EQ(ParsedValue(LineWith("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xB6")),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xB6");
  // A cut €, an overlong '/', a surrogate: each byte of them is one replacement character.
  EXPECT_EQ(ParsedValue(LineWith("a\xE2\x82")), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ParsedValue(LineWith("\xC0\xAF")), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ParsedValue(LineWith("\xED\xA0\x80x")), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");
  EXPECT_EQ(ParsedValue(LineWith("q\"b\\n\nt\t")), "q\"b\\n\nt\t");
}

TEST(LoggerTest, KeysAndMessagesAreEscapedToo) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  JsonLogger logger(LogLevel::kInfo, fileno(file));
  logger.Log(LogLevel::kWarn, "bad \xFF message", {{"k\xC3", "v"}, {"n", int64_t{-3}}});
  std::rewind(file);
  char buf[4096];
  const std::string line(buf, std::fread(buf, 1, sizeof buf, file));
  std::fclose(file);
  EXPECT_TRUE(IsValidUtf8(line)) << line;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) << line;
  EXPECT_EQ(parsed.fields().at("msg").string_value(), "bad \xEF\xBF\xBD message");
  EXPECT_EQ(parsed.fields().at("k\xEF\xBF\xBD").string_value(), "v");
  EXPECT_EQ(parsed.fields().at("n").number_value(), -3);
}

TEST(LogLimiterTest, AdmitsLinesMaxPerWindowThenCountsTheDropped) {
  LogLimiter limiter(/*lines_max=*/3, absl::Seconds(10));
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  int64_t dropped = -1;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Admit(t0 + absl::Seconds(i), &dropped));
    EXPECT_EQ(dropped, 0);
  }
  EXPECT_FALSE(limiter.Admit(t0 + absl::Seconds(3), &dropped));
  EXPECT_FALSE(limiter.Admit(t0 + absl::Seconds(9), &dropped));
  // A new window: the first line admitted tells how many were dropped before it.
  EXPECT_TRUE(limiter.Admit(t0 + absl::Seconds(10), &dropped));
  EXPECT_EQ(dropped, 2);
  EXPECT_TRUE(limiter.Admit(t0 + absl::Seconds(11), &dropped));
  EXPECT_EQ(dropped, 0);
}

// Lines as a test double of the Logger interface sees them.
class CountingLogger final : public Logger {
 public:
  bool Enabled(LogLevel) const override { return true; }
  void Write(LogLevel, std::string_view, std::span<const LogField> fields) override {
    ++lines;
    last_dropped = -1;
    for (const LogField& field : fields) {
      if (field.key == "dropped") last_dropped = std::get<int64_t>(field.value);
    }
  }
  int lines = 0;
  int64_t last_dropped = -1;  // -1: the last line had no "dropped" field.
};

TEST(RateLimitedLoggerTest, PassesLinesMaxPerWindowAndSaysHowManyItDropped) {
  CountingLogger inner;
  RateLimitedLogger limited(inner, /*lines_max=*/2, absl::Milliseconds(200));
  for (int i = 0; i < 5; ++i) limited.Log(LogLevel::kError, "flood", {{"i", int64_t{i}}});
  EXPECT_EQ(inner.lines, 2);
  EXPECT_EQ(inner.last_dropped, -1);
  absl::SleepFor(absl::Milliseconds(250));  // The next window.
  limited.Log(LogLevel::kError, "after");
  EXPECT_EQ(inner.lines, 3);
  EXPECT_EQ(inner.last_dropped, 3);
}

}  // namespace
}  // namespace walletd
