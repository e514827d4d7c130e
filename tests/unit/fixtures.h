#pragma once
// Shared fixture for use-case tests: mocks of every port wired into handlers.

#include <string>

#include "application/move_money.h"
#include "domain/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/mocks.h"

namespace walletd::testing {

inline constexpr char kA[] = "00000000-0000-0000-0000-00000000000a";
inline constexpr char kB[] = "00000000-0000-0000-0000-00000000000b";
inline constexpr char kTransferId[] = "00000000-0000-0000-0000-0000000000f1";
inline constexpr char kNewWalletId[] = "00000000-0000-0000-0000-0000000000c1";
inline const absl::Time kNow = absl::FromUnixMicros(1'700'000'000'000'000);

inline Wallet StoredWallet(const char* id, int64_t balance, int64_t version,
                           const char* currency = "EUR", const char* tenant = "default") {
  return *Wallet::Restore(*WalletId::Parse(id), *Tenant::Parse(tenant), *RequestId::Parse("open"),
                          *Currency::Parse(currency), balance, version, kNow, kNow);
}

// Callers as the gRPC adapter would authenticate them.
inline Caller Platform(uint32_t scopes = static_cast<uint32_t>(Scope::kRead) |
                                         static_cast<uint32_t>(Scope::kWrite)) {
  return Caller{"platform", "", true, scopes};
}
inline Caller TenantCaller(const char* tenant,
                           uint32_t scopes = static_cast<uint32_t>(Scope::kRead) |
                                             static_cast<uint32_t>(Scope::kWrite)) {
  return Caller{std::string("token-of-") + tenant, tenant, false, scopes};
}

class UseCaseTest : public ::testing::Test {
 protected:
  // The calls of the use-case tests come from a caller reaching every tenant with every scope,
  // unless a test sets another with As().
  UseCaseTest() : ctx_(absl::InfiniteFuture(), "test-call") {
    ctx_.set_caller(&caller_);
    ON_CALL(clock_, Now()).WillByDefault(::testing::Return(kNow));
    ON_CALL(ids_, NewTransferId()).WillByDefault(::testing::Return(*TransferId::Parse(kTransferId)));
    ON_CALL(ids_, NewWalletId()).WillByDefault(::testing::Return(*WalletId::Parse(kNewWalletId)));
  }

  void As(Caller caller) { caller_ = std::move(caller); }
  void Anonymous() { ctx_.set_caller(nullptr); }

  MovePorts Ports() { return MovePorts{tx_, wallets_, transfers_, clock_, ids_, TxOptions{}}; }

  ::testing::NiceMock<MockTransactor> tx_;
  ::testing::StrictMock<MockWalletRepository> wallets_;
  ::testing::StrictMock<MockTransferRepository> transfers_;
  ::testing::NiceMock<MockClock> clock_;
  ::testing::NiceMock<MockIdGenerator> ids_;
  Caller caller_ = Platform();
  Context ctx_;
};

}  // namespace walletd::testing
