#include "adapters/system/system.h"

#include <cstdint>
#include <cstdio>

#include "absl/time/clock.h"
#include "domain/status_macros.h"

namespace walletd {

std::string UuidV7Generator::Next() {
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  uint64_t random_a, random_b;
  {
    std::lock_guard lock(mu_);
    random_a = absl::Uniform<uint64_t>(bits_);
    random_b = absl::Uniform<uint64_t>(bits_);
  }
  unsigned char b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  for (int i = 6; i < 16; ++i) {
    b[i] = static_cast<unsigned char>((i < 14 ? random_a : random_b) >> (8 * (i % 8)));
  }
  b[6] = static_cast<unsigned char>(0x70 | (b[6] & 0x0f));  // Version 7.
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3f));  // RFC 9562 variant.
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return text;
}

WalletId UuidV7Generator::NewWalletId() {
  auto id = WalletId::Parse(Next());
  CHECK(id.ok());
  return *std::move(id);
}

TransferId UuidV7Generator::NewTransferId() {
  auto id = TransferId::Parse(Next());
  CHECK(id.ok());
  return *std::move(id);
}

}  // namespace walletd
