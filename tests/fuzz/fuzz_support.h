#pragma once
// What the fuzz targets share: the input format and the property check.
//
// The format is simple enough to write seeds by hand (tests/fuzz/README.md): a field is one length
// byte followed by that many bytes (fewer when the input ends first), an integer is 8 bytes
// little-endian (zero-filled when the input ends first), a byte is a byte (0 once it has ended).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "domain/errors.h"
#include "domain/text.h"

namespace walletd::fuzz {

class Input {
 public:
  Input(const uint8_t* data, size_t size)
      : text_(reinterpret_cast<const char*>(data), size) {}

  bool empty() const { return at_ >= text_.size(); }

  uint8_t Byte() { return empty() ? 0 : static_cast<uint8_t>(text_[at_++]); }

  std::string Field() {
    const size_t length = Byte();
    const std::string_view field = text_.substr(std::min(at_, text_.size()), length);
    at_ += field.size();
    return std::string(field);
  }

  int64_t Int64() {
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= static_cast<uint64_t>(Byte()) << (8 * i);
    return static_cast<int64_t>(value);
  }

  // The bytes not read yet.
  std::string Rest() {
    std::string rest(text_.substr(std::min(at_, text_.size())));
    at_ = text_.size();
    return rest;
  }

 private:
  std::string_view text_;
  size_t at_ = 0;
};

// A broken property: says which and why, then aborts so that libFuzzer keeps the input.
[[noreturn]] inline void Fail(const char* file, int line, const char* property,
                              const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: property broken: %s\n  %s\n", file, line, property,
               QuoteUntrusted(detail, 4096).c_str());
  std::abort();
}

#define FUZZ_CHECK(cond, detail)                                                 \
  do {                                                                           \
    if (!(cond)) ::walletd::fuzz::Fail(__FILE__, __LINE__, #cond, (detail));    \
  } while (false)

inline std::string Describe(const absl::Status& status) {
  return std::string(status.ToString(absl::StatusToStringMode::kWithEverything));
}

// What every error walletd hands out must satisfy, whoever produced it: not OK, a reason (only an
// INTERNAL defect may lack one: the gRPC edge reports it as INTERNAL), a message that is valid
// UTF-8 (google.rpc.Status.message is a proto3 string) and short (no echo of a whole payload).
inline void CheckError(const absl::Status& status, const char* file, int line) {
  constexpr size_t kMessageBytesMax = 512;
  if (status.ok()) Fail(file, line, "an error", "OK");
  if (ReasonOf(status).empty() && status.code() != absl::StatusCode::kInternal) {
    Fail(file, line, "a reason", Describe(status));
  }
  if (!IsValidUtf8(AsStd(status.message()))) Fail(file, line, "UTF-8 message", Describe(status));
  if (status.message().size() > kMessageBytesMax) {
    Fail(file, line, "a short message", Describe(status));
  }
}
#define FUZZ_CHECK_ERROR(status) ::walletd::fuzz::CheckError((status), __FILE__, __LINE__)

}  // namespace walletd::fuzz
