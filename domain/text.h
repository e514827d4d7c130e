#pragma once
// Text helpers. Abseil 20220623 has its own string_view, not std's; AsAbsl and AsStd convert
// explicitly and for free. The rest is for untrusted bytes that end up in messages and logs.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace walletd {

inline absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// The length (1 to 4) of the well-formed UTF-8 sequence that starts at text[at], or 0 when the
// bytes there are none: a stray continuation byte, an overlong form, a surrogate, a code point
// beyond U+10FFFF, or a sequence cut short by the end of `text`.
size_t Utf8SequenceLength(std::string_view text, size_t at);

// True when `text` is well-formed UTF-8 throughout.
bool IsValidUtf8(std::string_view text);

// Untrusted input, quoted for an error message: in double quotes, printable ASCII as it is, `"`
// and `\` escaped with a backslash, every other byte as \xNN. At most `bytes_max` bytes of the
// input are shown, cut before a character rather than inside one, with "..." after a cut. The
// result is ASCII: valid UTF-8 for google.rpc.Status.message, and nothing a terminal acts on.
std::string QuoteUntrusted(std::string_view text, size_t bytes_max);

}  // namespace walletd
