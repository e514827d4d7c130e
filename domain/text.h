#pragma once
// Abseil 20220623 has its own string_view, not std's; these convert explicitly and for free.

#include <string_view>

#include "absl/strings/string_view.h"

namespace walletd {

inline absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace walletd
