#include "adapters/system/log.h"

#include <unistd.h>

#include <cstdio>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "domain/text.h"

namespace walletd {

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") *level = LogLevel::kDebug;
  else if (text == "info") *level = LogLevel::kInfo;
  else if (text == "warn") *level = LogLevel::kWarn;
  else if (text == "error") *level = LogLevel::kError;
  else return false;
  return true;
}

void AppendJsonString(std::string* out, std::string_view text) {
  out->push_back('"');
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      // Client bytes reach the log (ids, currencies, library messages): only well-formed UTF-8
      // is kept, or the line would be no JSON at all.
      const size_t length = Utf8SequenceLength(text, i);
      if (length == 0) {
        out->append("\\ufffd");
      } else {
        out->append(text.data() + i, length);
        i += length - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

bool LogLimiter::Admit(absl::Time now, int64_t* dropped) {
  std::lock_guard<std::mutex> lock(mu_);
  if (now - window_start_ >= window_) {
    window_start_ = now;
    admitted_ = 0;
  }
  if (admitted_ >= lines_max_) {
    ++dropped_;
    return false;
  }
  ++admitted_;
  *dropped = dropped_;
  dropped_ = 0;
  return true;
}

void JsonLogger::Write(LogLevel level, std::string_view msg, std::span<const LogField> fields) {
  if (!Enabled(level)) return;
  static constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
  std::string line = "{\"ts\":\"";
  line += absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  line += "\",\"level\":\"";
  line += kNames[static_cast<int>(level)];
  line += "\",\"msg\":";
  AppendJsonString(&line, msg);
  for (const LogField& field : fields) {
    line.push_back(',');
    AppendJsonString(&line, field.key);
    line.push_back(':');
    if (auto* s = std::get_if<std::string_view>(&field.value)) {
      AppendJsonString(&line, *s);
    } else if (auto* i = std::get_if<int64_t>(&field.value)) {
      line += std::to_string(*i);
    } else if (auto* d = std::get_if<double>(&field.value)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", *d);
      line += buf;
    } else {
      line += std::get<bool>(field.value) ? "true" : "false";
    }
  }
  line += "}\n";
  // One write per line; a short write on a pipe is finished off, never interleaved mid-line by us.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void RateLimitedLogger::Write(LogLevel level, std::string_view msg,
                              std::span<const LogField> fields) {
  if (!Enabled(level)) return;
  int64_t dropped = 0;
  if (!limiter_.Admit(absl::Now(), &dropped)) return;
  if (dropped == 0) {
    inner_.Write(level, msg, fields);
    return;
  }
  std::vector<LogField> with_dropped(fields.begin(), fields.end());
  with_dropped.push_back({"dropped", dropped});
  inner_.Write(level, msg, with_dropped);
}

}  // namespace walletd
