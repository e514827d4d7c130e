#pragma once
// Structured logs: one JSON object per line on stderr, written whole by one write(2) so lines of
// concurrent calls never interleave.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace walletd {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn" or "error"; false for anything else.
bool ParseLogLevel(std::string_view text, LogLevel* level);

struct LogField {
  std::string_view key;
  std::variant<std::string_view, int64_t, double, bool> value;
};

class Logger {
 public:
  explicit Logger(LogLevel level_min, int fd = 2) : level_min_(level_min), fd_(fd) {}

  bool Enabled(LogLevel level) const { return level >= level_min_; }
  // {"ts":"<RFC 3339>","level":"info","msg":"...", fields...}
  void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

 private:
  const LogLevel level_min_;
  const int fd_;
};

// `text` as a JSON string literal, quotes included.
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace walletd
