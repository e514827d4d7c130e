// Who may do what, in every use case: no caller is UNAUTHENTICATED, a missing scope is
// PERMISSION_DENIED/MISSING_SCOPE naming it, and a caller bound to a tenant never sees, moves or
// learns of another tenant's wallet or transfer: it gets the very NOT_FOUND of a missing one.
// Ports are strict mocks: a refused call touches none of them unless a test says so.

#include "application/authorize.h"
#include "application/balance.h"
#include "application/create_wallet.h"
#include "application/deposit.h"
#include "application/get_transfer.h"
#include "application/list_transfers.h"
#include "application/transfer.h"
#include "application/withdraw.h"
#include "tests/unit/fixtures.h"

namespace walletd::testing {
namespace {

using ::testing::_;
using ::testing::Eq;
using ::testing::Invoke;
using ::testing::Return;

constexpr uint32_t kRead = static_cast<uint32_t>(Scope::kRead);
constexpr uint32_t kWrite = static_cast<uint32_t>(Scope::kWrite);
constexpr char kMissing[] = "00000000-0000-0000-0000-0000000000dd";

class AuthorizeTest : public UseCaseTest {
 protected:
  // Every use case once, with well-formed input; the ports are not expected to be called.
  std::vector<std::pair<std::string, absl::Status>> CallEach() {
    return {
        {"CreateWallet", create_(ctx_, {"r", "EUR"}).status()},
        {"Deposit", deposit_(ctx_, {"r", kA, 1, "EUR"}).status()},
        {"Withdraw", withdraw_(ctx_, {"r", kA, 1, "EUR"}).status()},
        {"Transfer", transfer_(ctx_, {"r", kA, kB, 1, "EUR"}).status()},
        {"Balance", balance_(ctx_, {kA}).status()},
        {"GetTransfer", get_transfer_(ctx_, {kTransferId}).status()},
        {"ListTransfers", list_(ctx_, {kA, 0, ""}).status()},
    };
  }
  static bool Writes(const std::string& method) {
    return method == "CreateWallet" || method == "Deposit" || method == "Withdraw" ||
           method == "Transfer";
  }
  // A transfer of `tenant` touching kA.
  static Transfer TransferIn(const char* tenant) {
    Wallet a = StoredWallet(kA, 10, 1, "EUR", tenant);
    return *Movement::Withdrawal("w", kA, 10, "EUR")
                ->Apply(*TransferId::Parse(kTransferId), kNow, {&a});
  }

  CreateWalletHandler create_{wallets_, clock_, ids_};
  DepositHandler deposit_{Ports()};
  WithdrawHandler withdraw_{Ports()};
  TransferHandler transfer_{Ports()};
  BalanceHandler balance_{wallets_};
  GetTransferHandler get_transfer_{transfers_};
  ListTransfersHandler list_{wallets_, transfers_};
};

TEST_F(AuthorizeTest, NoCallerIsUnauthenticatedInEveryUseCaseAndTouchesNothing) {
  Anonymous();
  EXPECT_CALL(tx_, WithinTransaction(_, _, _)).Times(0);
  for (const auto& [method, status] : CallEach()) {
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnauthenticated, reason::kUnauthenticated))
        << method;
  }
}

TEST_F(AuthorizeTest, ReadOnlyCallersMayNotWriteAndTheErrorNamesTheScope) {
  As(TenantCaller("shop-a", kRead));
  EXPECT_CALL(tx_, WithinTransaction(_, _, _)).Times(0);
  EXPECT_CALL(wallets_, Get(_, _)).WillRepeatedly(Return(StoredWallet(kA, 0, 0, "EUR", "shop-a")));
  EXPECT_CALL(transfers_, FindById(_, _)).WillRepeatedly(Return(TransferIn("shop-a")));
  EXPECT_CALL(transfers_, ListByWallet(_, _, _, _)).WillRepeatedly(Return(std::vector<Transfer>{}));
  for (const auto& [method, status] : CallEach()) {
    if (!Writes(method)) {
      EXPECT_THAT(status, IsOk()) << method;
      continue;
    }
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied, reason::kMissingScope))
        << method;
    EXPECT_EQ(MetadataOf(status, "scope"), "wallets:write") << method;
  }
}

TEST_F(AuthorizeTest, WriteOnlyCallersMayNotReadAndTheErrorNamesTheScope) {
  As(Platform(kWrite));
  // The writes go on to storage: here they find nothing, which is all they need to get past
  // the scope check.
  EXPECT_CALL(wallets_, Create(_, _)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(wallets_, LockForUpdate(_, _)).WillRepeatedly(Return(std::vector<Wallet>{}));
  for (const auto& [method, status] : CallEach()) {
    if (Writes(method)) {
      EXPECT_NE(status.code(), absl::StatusCode::kPermissionDenied) << method;
      continue;
    }
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied, reason::kMissingScope))
        << method;
    EXPECT_EQ(MetadataOf(status, "scope"), "wallets:read") << method;
  }
}

TEST_F(AuthorizeTest, AScopeCheckComesBeforeInputValidation) {
  As(TenantCaller("shop-a", 0));
  EXPECT_THAT(balance_(ctx_, {"not a uuid"}),
              StatusIs(absl::StatusCode::kPermissionDenied, reason::kMissingScope));
  EXPECT_THAT(transfer_(ctx_, {"bad id!", "x", "y", -1, "eur"}),
              StatusIs(absl::StatusCode::kPermissionDenied, reason::kMissingScope));
}

// ---- Tenants: reads.

TEST_F(AuthorizeTest, BalanceOfAnotherTenantsWalletIsWordForWordAMissingOne) {
  As(TenantCaller("shop-a"));
  EXPECT_CALL(wallets_, Get(_, *WalletId::Parse(kA)))
      .WillOnce(Return(StoredWallet(kA, 50, 1, "EUR", "shop-b")));
  EXPECT_CALL(wallets_, Get(_, *WalletId::Parse(kMissing)))
      .WillOnce(Return(WalletNotFound(*WalletId::Parse(kMissing))));
  const absl::Status foreign = balance_(ctx_, {kA}).status();
  const absl::Status missing = balance_(ctx_, {kMissing}).status();
  EXPECT_THAT(foreign, StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  EXPECT_EQ(std::string(foreign.message()), std::string("no wallet ") + kA);
  EXPECT_EQ(std::string(missing.message()), std::string("no wallet ") + kMissing);
}

TEST_F(AuthorizeTest, BalanceOfItsOwnTenantAndThePlatformsReach) {
  EXPECT_CALL(wallets_, Get(_, _)).WillRepeatedly(Return(StoredWallet(kA, 50, 1, "EUR", "shop-b")));
  As(TenantCaller("shop-b"));
  EXPECT_THAT(balance_(ctx_, {kA}), IsOk());
  As(Platform(kRead));
  EXPECT_THAT(balance_(ctx_, {kA}), IsOk());
}

TEST_F(AuthorizeTest, GetTransferOfAnotherTenantIsTransferNotFound) {
  As(TenantCaller("shop-a"));
  EXPECT_CALL(transfers_, FindById(_, _)).WillOnce(Return(TransferIn("shop-b")));
  const absl::Status foreign = get_transfer_(ctx_, {kTransferId}).status();
  EXPECT_THAT(foreign, StatusIs(absl::StatusCode::kNotFound, reason::kTransferNotFound));
  EXPECT_EQ(foreign.message(),
            TransferNotFound(*TransferId::Parse(kTransferId)).message());
  EXPECT_CALL(transfers_, FindById(_, _)).WillOnce(Return(TransferIn("shop-a")));
  EXPECT_THAT(get_transfer_(ctx_, {kTransferId}), IsOk());
}

TEST_F(AuthorizeTest, ListTransfersOfAnotherTenantsWalletIsWalletNotFound) {
  As(TenantCaller("shop-a"));
  // With history: the rows' tenant is the wallet's.
  EXPECT_CALL(transfers_, ListByWallet(_, _, _, _))
      .WillOnce(Return(std::vector<Transfer>{TransferIn("shop-b")}))
      .WillOnce(Return(std::vector<Transfer>{}));
  EXPECT_THAT(list_(ctx_, {kA, 0, ""}),
              StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  // Without: the wallet itself is read.
  EXPECT_CALL(wallets_, Get(_, _)).WillOnce(Return(StoredWallet(kA, 0, 0, "EUR", "shop-b")));
  const absl::Status empty = list_(ctx_, {kA, 0, ""}).status();
  EXPECT_THAT(empty, StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  EXPECT_EQ(empty.message(), WalletNotFound(*WalletId::Parse(kA)).message());
}

// ---- Tenants: CreateWallet.

TEST_F(AuthorizeTest, ATenantBoundCallerCreatesInItsOwnTenantOnly) {
  As(TenantCaller("shop-a"));
  EXPECT_CALL(wallets_, Create(_, _)).Times(2).WillRepeatedly(Invoke([](Context&, const Wallet& w) {
    EXPECT_EQ(w.tenant().str(), "shop-a");
    return absl::OkStatus();
  }));
  EXPECT_THAT(create_(ctx_, {"r1", "EUR"}), IsOk());
  EXPECT_THAT(create_(ctx_, {"r2", "EUR", "shop-a"}), IsOk());
  EXPECT_THAT(create_(ctx_, {"r3", "EUR", "shop-b"}),
              StatusIs(absl::StatusCode::kPermissionDenied, reason::kTenantForbidden));
  // A name that is no tenant at all gets the same answer: nothing to learn about names.
  EXPECT_THAT(create_(ctx_, {"r3", "EUR", "No Such!"}),
              StatusIs(absl::StatusCode::kPermissionDenied, reason::kTenantForbidden));
}

TEST_F(AuthorizeTest, ThePlatformCreatesInTheDefaultTenantOrTheOneItNames) {
  As(Platform());
  EXPECT_CALL(wallets_, Create(_, _))
      .WillOnce(Invoke([](Context&, const Wallet& w) {
        EXPECT_EQ(w.tenant().str(), "default");
        return absl::OkStatus();
      }))
      .WillOnce(Invoke([](Context&, const Wallet& w) {
        EXPECT_EQ(w.tenant().str(), "shop-x");
        return absl::OkStatus();
      }));
  EXPECT_THAT(create_(ctx_, {"r1", "EUR"}), IsOk());
  EXPECT_THAT(create_(ctx_, {"r2", "EUR", "shop-x"}), IsOk());
  EXPECT_THAT(create_(ctx_, {"r3", "EUR", "Shop X"}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidTenant));
  EXPECT_THAT(create_(ctx_, {"r3", "EUR", "*"}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidTenant));
}

TEST_F(AuthorizeTest, ACreateWalletReplayIsLookedUpInTheWalletsTenant) {
  As(TenantCaller("shop-a"));
  EXPECT_CALL(wallets_, Create(_, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
                                   "taken")));
  EXPECT_CALL(wallets_, FindByRequestId(_, *Tenant::Parse("shop-a"), *RequestId::Parse("r1")))
      .WillOnce(Return(StoredWallet(kA, 5, 1, "EUR", "shop-a")));
  auto replay = create_(ctx_, {"r1", "EUR"});
  ASSERT_THAT(replay, IsOk());
  EXPECT_TRUE(replay->replayed);
}

// ---- Tenants: movements.

TEST_F(AuthorizeTest, ATenantBoundCallerCannotMoveAnotherTenantsMoneyNorTellItExists) {
  As(TenantCaller("shop-a"));
  // kA is the caller's, kB another tenant's: locked, found foreign, nothing written.
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 100, 1, "EUR", "shop-a"),
                                           StoredWallet(kB, 100, 1, "EUR", "shop-b")}))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 100, 1, "EUR", "shop-a")}));
  // The request id is looked up in the caller's own tenant, never another's.
  EXPECT_CALL(transfers_, FindByRequestId(_, *Tenant::Parse("shop-a"), _))
      .Times(2)
      .WillRepeatedly(Return(std::nullopt));
  const absl::Status foreign = transfer_(ctx_, {"r", kA, kB, 1, "EUR"}).status();
  const absl::Status missing = transfer_(ctx_, {"r", kA, kB, 1, "EUR"}).status();
  EXPECT_THAT(foreign, StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  EXPECT_EQ(foreign.message(), missing.message());
  EXPECT_EQ(std::string(foreign.message()), std::string("no wallet ") + kB);
}

TEST_F(AuthorizeTest, TheFirstMissingOrForeignWalletInLockOrderIsReportedWhicheverItIs) {
  // kA foreign and kB missing, or both missing: the same answer, so the first tells nothing.
  As(TenantCaller("shop-a"));
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 100, 1, "EUR", "shop-b")}))
      .WillOnce(Return(std::vector<Wallet>{}));
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillRepeatedly(Return(std::nullopt));
  const absl::Status first = transfer_(ctx_, {"r", kB, kA, 1, "EUR"}).status();
  const absl::Status second = transfer_(ctx_, {"r", kB, kA, 1, "EUR"}).status();
  EXPECT_EQ(std::string(first.message()), std::string("no wallet ") + kA);
  EXPECT_EQ(first.message(), second.message());
}

TEST_F(AuthorizeTest, DepositsAndWithdrawalsIntoAnotherTenantAreNotFound) {
  As(TenantCaller("shop-a"));
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillRepeatedly(Return(std::vector<Wallet>{StoredWallet(kA, 100, 1, "EUR", "shop-b")}));
  EXPECT_CALL(transfers_, FindByRequestId(_, *Tenant::Parse("shop-a"), _))
      .WillRepeatedly(Return(std::nullopt));
  EXPECT_THAT(deposit_(ctx_, {"r", kA, 1, "EUR"}),
              StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  EXPECT_THAT(withdraw_(ctx_, {"r", kA, 1, "EUR"}),
              StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
}

TEST_F(AuthorizeTest, ThePlatformMovesMoneyInAnyTenantButNeverBetweenTwo) {
  As(Platform());
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 100, 1, "EUR", "shop-a"),
                                           StoredWallet(kB, 100, 1, "EUR", "shop-b")}))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 100, 1, "EUR", "shop-b"),
                                           StoredWallet(kB, 100, 1, "EUR", "shop-b")}));
  // Two tenants: no tenant to look a replay up in, nothing written.
  EXPECT_THAT(transfer_(ctx_, {"r", kA, kB, 1, "EUR"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kTenantMismatch));
  EXPECT_CALL(wallets_, SaveAll(_, _, _)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _)).WillOnce(Invoke([](Context&, const Transfer& t) {
    EXPECT_EQ(t.tenant.str(), "shop-b");
    return absl::OkStatus();
  }));
  EXPECT_THAT(transfer_(ctx_, {"r", kA, kB, 1, "EUR"}), IsOk());
}

TEST_F(AuthorizeTest, ThePlatformsReplayIsLookedUpInTheWalletsTenant) {
  As(Platform());
  Wallet a = StoredWallet(kA, 100, 1, "EUR", "shop-x");
  const Transfer stored = *Movement::Deposit("r", kA, 5, "EUR")
                               ->Apply(*TransferId::Parse(kTransferId), kNow, {&a});
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 105, 2, "EUR", "shop-x")}));
  EXPECT_CALL(wallets_, SaveAll(_, _, _)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
                                   "taken")));
  EXPECT_CALL(transfers_, FindByRequestId(_, *Tenant::Parse("shop-x"), *RequestId::Parse("r")))
      .WillOnce(Return(stored));
  auto replay = deposit_(ctx_, {"r", kA, 5, "EUR"});
  ASSERT_THAT(replay, IsOk());
  EXPECT_TRUE(replay->replayed);
}

}  // namespace
}  // namespace walletd::testing
