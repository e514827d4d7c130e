#pragma once
// Structured logs: one JSON object per line on stderr, written whole by one write(2) so lines of
// concurrent calls never interleave.

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "ports/logger.h"

namespace walletd {

// "debug", "info", "warn" or "error"; false for anything else.
bool ParseLogLevel(std::string_view text, LogLevel* level);

// {"ts":"<RFC 3339>","level":"info","msg":"...", fields...} per line on `fd`.
class JsonLogger final : public Logger {
 public:
  explicit JsonLogger(LogLevel level_min, int fd = 2) : level_min_(level_min), fd_(fd) {}

  bool Enabled(LogLevel level) const override { return level >= level_min_; }
  void Write(LogLevel level, std::string_view msg, std::span<const LogField> fields) override;

 private:
  const LogLevel level_min_;
  const int fd_;
};

// `text` as a JSON string literal, quotes included. Any bytes give valid JSON in valid UTF-8:
// well-formed UTF-8 is kept, each byte of an ill-formed sequence becomes U+FFFD.
void AppendJsonString(std::string* out, std::string_view text);

// Bounds lines that others can provoke at will, such as protobuf's error for every request with
// a string that is not UTF-8: at most lines_max per window. Thread-safe.
class LogLimiter {
 public:
  LogLimiter(int lines_max, absl::Duration window) : lines_max_(lines_max), window_(window) {}

  // True when a line may be written at `now`; *dropped is then how many were refused since the
  // last line admitted, for that line to say.
  bool Admit(absl::Time now, int64_t* dropped);

 private:
  const int lines_max_;
  const absl::Duration window_;
  std::mutex mu_;
  absl::Time window_start_ = absl::InfinitePast();  // Guarded by mu_.
  int admitted_ = 0;                                 // In this window; guarded by mu_.
  int64_t dropped_ = 0;                              // Since the last admitted; guarded by mu_.
};

// Passes at most lines_max lines per window on to `inner` and drops the rest; the first line
// after a drop carries "dropped": how many were lost. For lines others can provoke at will.
class RateLimitedLogger final : public Logger {
 public:
  RateLimitedLogger(Logger& inner, int lines_max, absl::Duration window)
      : inner_(inner), limiter_(lines_max, window) {}

  bool Enabled(LogLevel level) const override { return inner_.Enabled(level); }
  void Write(LogLevel level, std::string_view msg, std::span<const LogField> fields) override;

 private:
  Logger& inner_;
  LogLimiter limiter_;
};

}  // namespace walletd
