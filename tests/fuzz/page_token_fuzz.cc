// Page tokens (ListTransfers) are strict and bound to the wallet they list: whatever string a
// client sends, a token is accepted only in the exact spelling walletd minted, for that wallet, and
// a minted token always decodes to the version it was minted with.
//
// Input: 16 bytes of a wallet id, an 8-byte version, then the token to decode.

#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "application/list_transfers.h"
#include "tests/fuzz/fuzz_support.h"

namespace walletd::fuzz {
namespace {

WalletId WalletOf(Input& in) {
  uint8_t b[16];
  for (uint8_t& byte : b) byte = in.Byte();
  std::string text = absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
      b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  auto id = WalletId::Parse(text);
  FUZZ_CHECK(id.ok(), text);
  return *id;
}

// The same id but for its last digit: as close to `wallet` as another wallet gets.
WalletId NeighbourOf(const WalletId& wallet) {
  std::string text = wallet.str();
  text.back() = text.back() == '0' ? '1' : '0';
  return *WalletId::Parse(text);
}

bool IsWebSafeBase64(const std::string& text) {
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

void CheckRefusal(const absl::StatusOr<int64_t>& decoded) {
  FUZZ_CHECK_ERROR(decoded.status());
  FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument &&
                 ReasonOf(decoded.status()) == reason::kInvalidPageToken,
             Describe(decoded.status()));
}

// A minted token decodes to its version for its wallet, and for no other.
void CheckMinted(const WalletId& wallet, int64_t version) {
  const std::string token = EncodePageToken(wallet, version);
  // Opaque, printable and short: a client may put it in a URL as it is.
  FUZZ_CHECK(IsWebSafeBase64(token) && !token.empty() && token.size() <= 80, token);
  auto decoded = DecodePageToken(wallet, token);
  if (version < 1) {
    CheckRefusal(decoded);  // Versions start at 1: no page continues below 0.
    return;
  }
  FUZZ_CHECK(decoded.ok() && *decoded == version, token);
  CheckRefusal(DecodePageToken(NeighbourOf(wallet), token));
}

// Any string: refused with INVALID_PAGE_TOKEN, or the one spelling minted for this wallet.
void CheckArbitrary(const WalletId& wallet, const std::string& token) {
  auto decoded = DecodePageToken(wallet, token);
  if (!decoded.ok()) {
    CheckRefusal(decoded);
    return;
  }
  FUZZ_CHECK(*decoded >= 1, token);
  FUZZ_CHECK(EncodePageToken(wallet, *decoded) == token, token);
  CheckRefusal(DecodePageToken(NeighbourOf(wallet), token));
}

}  // namespace
}  // namespace walletd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace walletd::fuzz;
  Input in(data, size);
  const walletd::WalletId wallet = WalletOf(in);
  const int64_t version = in.Int64();
  CheckMinted(wallet, version);
  CheckArbitrary(wallet, in.Rest());
  return 0;
}
