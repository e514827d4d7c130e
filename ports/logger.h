#pragma once
// The structured logger as code that logs sees it: levels, fields and one call per line. The JSON
// writer behind it (adapters/system/log.h) is chosen and owned by the composition root, so the
// code that logs depends on this port alone.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <variant>

namespace walletd {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct LogField {
  std::string_view key;
  std::variant<std::string_view, int64_t, double, bool> value;
};

/// Writes one structured line per Log() call. Implementations are thread-safe: any thread may log
/// at any time, and lines of concurrent callers never interleave. Logging never fails visibly: a
/// line that cannot be written is lost.
class Logger {
 public:
  virtual ~Logger() = default;

  virtual bool Enabled(LogLevel level) const = 0;
  void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {}) {
    Write(level, msg, std::span<const LogField>(fields.begin(), fields.size()));
  }
  // What Log() does; a line below the enabled level is dropped here too.
  virtual void Write(LogLevel level, std::string_view msg, std::span<const LogField> fields) = 0;
};

}  // namespace walletd
