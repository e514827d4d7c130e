#include "domain/text.h"

namespace walletd {

size_t Utf8SequenceLength(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  // The lead byte fixes the length and the range of the second byte (RFC 3629's table): that
  // range is what excludes overlong forms, surrogates and code points beyond U+10FFFF.
  size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) second_min = 0xa0;
    if (lead == 0xed) second_max = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) second_min = 0x90;
    if (lead == 0xf4) second_max = 0x8f;
  } else {
    return 0;  // A continuation byte, 0xc0, 0xc1 or 0xf5 to 0xff.
  }
  if (text.size() - at < length) return 0;
  if (byte(at + 1) < second_min || byte(at + 1) > second_max) return 0;
  for (size_t i = 2; i < length; ++i) {
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
  }
  return length;
}

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string QuoteUntrusted(std::string_view text, size_t bytes_max) {
  size_t shown = text.size();
  if (shown > bytes_max) {
    shown = bytes_max;
    // text[shown] is the first byte left out: if it continues a sequence, leave out its start
    // too (at most three bytes back, as far as a sequence reaches).
    for (int back = 0; back < 3 && shown > 0 && (static_cast<unsigned char>(text[shown]) & 0xc0) == 0x80;
         ++back) {
      --shown;
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  out.reserve(shown + 8);
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  out.push_back('"');
  if (shown < text.size()) out.append("...");
  return out;
}

}  // namespace walletd
