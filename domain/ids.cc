#include "domain/ids.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "domain/caller.h"
#include "domain/errors.h"
#include "domain/text.h"

namespace walletd {
namespace internal {

std::string CanonicalUuid(std::string_view text) {
  if (text.size() != 36) return "";
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return "";
    } else if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return "";
    }
  }
  return out;
}

}  // namespace internal

absl::Status InvalidUuid(std::string_view reason, std::string_view noun, std::string_view text) {
  // A UUID is 36 characters: a few more show what was sent without echoing a whole payload.
  constexpr size_t kEchoedBytesMax = 40;
  return InvalidArgument(reason, absl::StrCat(AsAbsl(noun), " must be a UUID such as "
                                              "\"0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d\", got ",
                                              QuoteUntrusted(text, kEchoedBytesMax)));
}

absl::StatusOr<RequestId> RequestId::Parse(std::string_view text) {
  bool allowed = std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
  });
  if (text.empty() || text.size() > kLengthMax || !allowed) {
    return InvalidArgument(
        reason::kInvalidRequestId,
        absl::StrCat("request_id must be 1 to ", kLengthMax,
                     " characters of letters, digits and . _ : - (got ", text.size(),
                     " characters", allowed ? "" : " with a character outside that set", ")"));
  }
  return RequestId(std::string(text));
}

absl::StatusOr<Tenant> Tenant::Parse(std::string_view text) {
  bool allowed = std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
  if (text.empty() || text.size() > kLengthMax || !allowed) {
    // Tenant names are not secret, but the input may be anything: echo a bounded, quoted prefix.
    return InvalidArgument(reason::kInvalidTenant,
                           absl::StrCat("tenant must be 1 to ", kLengthMax,
                                        " characters of a-z, 0-9 and . _ -, got ",
                                        QuoteUntrusted(text, kLengthMax + 4)));
  }
  return Tenant(std::string(text));
}

Tenant Tenant::Default() { return Tenant(std::string(kDefaultTenant)); }

}  // namespace walletd
