// Transfer, Deposit and Withdraw: the movement transaction, its errors and idempotency.

#include <limits>

#include "application/deposit.h"
#include "application/transfer.h"
#include "application/withdraw.h"
#include "tests/unit/fixtures.h"

namespace walletd::testing {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::InSequence;
using ::testing::Invoke;
using ::testing::Return;

MATCHER_P3(WalletState, id, balance, version, "") {
  return arg.id().str() == id && arg.balance() == balance && arg.version() == version;
}

class TransferTest : public UseCaseTest {
 protected:
  TransferHandler::Command Cmd(const char* from, const char* to, int64_t amount,
                               const char* currency = "EUR", const char* rid = "req-1") {
    return {rid, from, to, amount, currency};
  }
  // The transfer a previous success of Cmd(kA, kB, 30) stored.
  Transfer Stored(int64_t amount = 30, const char* rid = "req-1") {
    Wallet a = StoredWallet(kA, 100, 1), b = StoredWallet(kB, 0, 1);
    return *Movement::Transfer(rid, kA, kB, amount, "EUR")
                ->Apply(*TransferId::Parse("00000000-0000-0000-0000-0000000000e9"), kNow, {&a, &b});
  }
  // Each call re-locks: expects the lock and returns the wallets as stored.
  void ExpectLock(std::vector<Wallet> wallets) {
    std::vector<WalletId> ids;
    for (const Wallet& w : wallets) ids.push_back(w.id());
    EXPECT_CALL(wallets_, LockForUpdate(_, ElementsAre(ids[0], ids[1])))
        .WillOnce(Return(std::move(wallets)));
  }
  TransferHandler handler_{Ports()};
};

TEST_F(TransferTest, MovesMoneyInsideOneTransaction) {
  ExpectLock({StoredWallet(kA, 100, 4), StoredWallet(kB, 7, 9)});
  {
    InSequence in_order;
    EXPECT_CALL(wallets_, SaveAll(_, ElementsAre(WalletState(kA, 70, 5), WalletState(kB, 37, 10)),
                                  ElementsAre(4, 9)))
        .WillOnce(Invoke([](Context& c, auto, auto) {
          EXPECT_TRUE(MockTransactor::Active(c));
          return absl::OkStatus();
        }));
    EXPECT_CALL(transfers_, Insert(_, _)).WillOnce(Invoke([](Context& c, const Transfer& t) {
      EXPECT_TRUE(MockTransactor::Active(c));
      EXPECT_EQ(t.id.str(), kTransferId);
      EXPECT_EQ(t.amount.minor_units(), 30);
      EXPECT_EQ(t.postings.size(), 2u);
      return absl::OkStatus();
    }));
  }
  EXPECT_CALL(tx_, WithinTransaction(_, _, _)).Times(1);

  auto result = handler_(ctx_, Cmd(kA, kB, 30));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->balance_after, 70);
  EXPECT_FALSE(result->replayed);
  EXPECT_EQ(result->transfer.kind, TransferKind::kTransfer);
  EXPECT_EQ(result->transfer.from()->str(), kA);
  EXPECT_EQ(result->transfer.to()->str(), kB);
  EXPECT_EQ(result->transfer.created_at, kNow);
}

TEST_F(TransferTest, LocksInIdOrderWhenMoneyFlowsFromTheHigherId) {
  // B -> A must still lock A first: opposite transfers then never deadlock.
  ExpectLock({StoredWallet(kA, 0, 1), StoredWallet(kB, 50, 1)});
  EXPECT_CALL(wallets_, SaveAll(_, ElementsAre(WalletState(kA, 30, 2), WalletState(kB, 20, 2)),
                                ElementsAre(1, 1)))
      .WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _)).WillOnce(Return(absl::OkStatus()));
  auto result = handler_(ctx_, Cmd(kB, kA, 30));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->balance_after, 20);
}

TEST_F(TransferTest, InvalidInputTouchesNothing) {
  EXPECT_CALL(tx_, WithinTransaction(_, _, _)).Times(0);
  EXPECT_CALL(ids_, NewTransferId()).Times(0);
  // StrictMock repositories fail the test on any call.
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kA, 30)),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kSameWallet));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidAmount));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, -30)),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidAmount));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30, "EURO")),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidCurrency));
  EXPECT_THAT(handler_(ctx_, Cmd("not-a-wallet", kB, 30)),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidWalletId));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30, "EUR", "bad id!")),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidRequestId));
}

TEST_F(TransferTest, UnknownWalletIsNotFoundAndWritesNothing) {
  // LockForUpdate leaves a missing wallet out. A caller reaching every tenant has no tenant to
  // look the request id up in when its wallets were not found: nothing to replay.
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 100, 1)}));
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).Times(0);
  auto result = handler_(ctx_, Cmd(kA, kB, 30));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  EXPECT_EQ(result.status().message(), std::string("no wallet ") + kB);
}

TEST_F(TransferTest, LockForUpdateErrorsPassThrough) {
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(absl::Status(absl::StatusCode::kUnavailable, "down")));
  EXPECT_EQ(handler_(ctx_, Cmd(kA, kB, 30)).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(TransferTest, InsufficientFundsWritesNothing) {
  ExpectLock({StoredWallet(kA, 29, 1), StoredWallet(kB, 0, 1)});
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(std::nullopt));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30)),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kInsufficientFunds));
}

TEST_F(TransferTest, CurrencyMismatchWritesNothing) {
  ExpectLock({StoredWallet(kA, 100, 1), StoredWallet(kB, 0, 1, "USD")});
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(std::nullopt));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30)),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kCurrencyMismatch));
}

TEST_F(TransferTest, AmountInAnotherCurrencyThanTheWalletsIsRefused) {
  ExpectLock({StoredWallet(kA, 100, 1), StoredWallet(kB, 0, 1)});
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(std::nullopt));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30, "USD")),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kCurrencyMismatch));
}

TEST_F(TransferTest, CreditThatWouldOverflowIsRefused) {
  ExpectLock({StoredWallet(kA, 100, 1), StoredWallet(kB, std::numeric_limits<int64_t>::max(), 1)});
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(std::nullopt));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30)),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kBalanceOverflow));
}

TEST_F(TransferTest, ReplayAfterTheMoneyMovedReturnsTheOriginalResult) {
  // The first success drained A, so the replay's own attempt fails: the stored result wins.
  ExpectLock({StoredWallet(kA, 0, 2), StoredWallet(kB, 30, 2)});
  Transfer original = Stored();
  EXPECT_CALL(transfers_, FindByRequestId(_, _, RequestId(*RequestId::Parse("req-1"))))
      .WillOnce(Return(original));
  auto result = handler_(ctx_, Cmd(kA, kB, 30));
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->replayed);
  EXPECT_EQ(result->transfer.id, original.id);
  EXPECT_EQ(result->balance_after, 70);
}

TEST_F(TransferTest, ReplayCaughtByTheUniqueRequestIdReturnsTheOriginal) {
  // Funds allow a second run, so only the ledger's unique request id stops it; the transaction
  // (rolled back by a real Transactor) reports DUPLICATE_REQUEST_ID.
  ExpectLock({StoredWallet(kA, 70, 2), StoredWallet(kB, 30, 2)});
  EXPECT_CALL(wallets_, SaveAll(_, _, _)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
                                   "taken")));
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Invoke([&](Context& c, auto&, auto&) {
    EXPECT_FALSE(MockTransactor::Active(c));  // Looked up after the transaction, not inside.
    return std::optional<Transfer>(Stored());
  }));
  auto result = handler_(ctx_, Cmd(kA, kB, 30));
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->replayed);
  EXPECT_EQ(result->balance_after, 70);
}

TEST_F(TransferTest, DuplicateReportedAtCommitIsAReplayToo) {
  // The Postgres adapter defers writes to COMMIT, so the duplicate surfaces from the Transactor.
  ExpectLock({StoredWallet(kA, 70, 2), StoredWallet(kB, 30, 2)});
  EXPECT_CALL(wallets_, SaveAll(_, _, _)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(tx_, WithinTransaction(_, _, _))
      .WillOnce(Invoke([](Context& c, const TxOptions&, absl::FunctionRef<absl::Status(Context&)> fn) {
        EXPECT_THAT(fn(c), IsOk());
        return DomainError(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId, "taken");
      }));
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(Stored()));
  auto result = handler_(ctx_, Cmd(kA, kB, 30));
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->replayed);
}

TEST_F(TransferTest, RequestIdReusedWithAnotherPayloadIsRefused) {
  ExpectLock({StoredWallet(kA, 70, 2), StoredWallet(kB, 30, 2)});
  EXPECT_CALL(wallets_, SaveAll(_, _, _)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
                                   "taken")));
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(Stored(/*amount=*/30)));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 31)),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kIdempotencyKeyReused));
}

TEST_F(TransferTest, RequestIdOfADepositCannotBeReusedForATransfer) {
  ExpectLock({StoredWallet(kA, 0, 1), StoredWallet(kB, 0, 1)});
  Wallet b = StoredWallet(kB, 0, 1);
  Transfer deposit = *Movement::Deposit("req-1", kB, 30, "EUR")
                          ->Apply(*TransferId::Parse(kTransferId), kNow, {&b});
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(deposit));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30)),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kIdempotencyKeyReused));
}

TEST_F(TransferTest, DuplicateWhoseHolderVanishedIsAborted) {
  ExpectLock({StoredWallet(kA, 70, 2), StoredWallet(kB, 30, 2)});
  EXPECT_CALL(wallets_, SaveAll(_, _, _)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
                                   "taken")));
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(std::nullopt));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30)),
              StatusIs(absl::StatusCode::kAborted, reason::kTransactionConflict));
}

TEST_F(TransferTest, TransactorErrorsPassThroughWithoutALookup) {
  for (auto [code, why] : {std::pair{absl::StatusCode::kAborted, reason::kTransactionConflict},
                           std::pair{absl::StatusCode::kUnavailable, reason::kDatabaseUnavailable},
                           std::pair{absl::StatusCode::kUnavailable, reason::kCommitOutcomeUnknown},
                           std::pair{absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded},
                           std::pair{absl::StatusCode::kAborted, reason::kVersionConflict}}) {
    EXPECT_CALL(tx_, WithinTransaction(_, _, _)).WillOnce(Return(DomainError(code, why, "x")));
    EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30)), StatusIs(code, why));
  }
}

TEST_F(TransferTest, VersionConflictFromSaveAbortsTheTransaction) {
  ExpectLock({StoredWallet(kA, 100, 1), StoredWallet(kB, 0, 1)});
  EXPECT_CALL(wallets_, SaveAll(_, _, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAborted, reason::kVersionConflict, "x")));
  EXPECT_THAT(handler_(ctx_, Cmd(kA, kB, 30)),
              StatusIs(absl::StatusCode::kAborted, reason::kVersionConflict));
}

TEST_F(TransferTest, ExpiredDeadlineStopsBeforeAnyWork) {
  Context expired(absl::Now() - absl::Seconds(1), "late");
  expired.set_caller(&caller_);
  EXPECT_CALL(tx_, WithinTransaction(_, _, _)).Times(0);
  EXPECT_THAT(handler_(expired, Cmd(kA, kB, 30)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, reason::kDeadlineExceeded));
  Context cancelled(absl::InfiniteFuture(), "gone");
  cancelled.set_caller(&caller_);
  cancelled.Cancel();
  EXPECT_THAT(handler_(cancelled, Cmd(kA, kB, 30)),
              StatusIs(absl::StatusCode::kCancelled, reason::kCancelled));
}

TEST_F(TransferTest, RetriedClosureStartsFromTheLockedState) {
  // A Transactor may run the closure twice; the second run must not reuse the first's result.
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 100, 1), StoredWallet(kB, 0, 1)}))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 50, 2), StoredWallet(kB, 50, 2)}));
  EXPECT_CALL(wallets_, SaveAll(_, _, _)).Times(2).WillRepeatedly(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _)).Times(2).WillRepeatedly(Return(absl::OkStatus()));
  EXPECT_CALL(tx_, WithinTransaction(_, _, _))
      .WillOnce(Invoke([](Context& c, const TxOptions&, absl::FunctionRef<absl::Status(Context&)> fn) {
        EXPECT_THAT(fn(c), IsOk());  // First attempt: pretend its COMMIT hit a serialization failure.
        return fn(c);
      }));
  auto result = handler_(ctx_, Cmd(kA, kB, 30));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->balance_after, 20);
}

TEST_F(TransferTest, PassesTheConfiguredTransactionOptions) {
  MovePorts ports = Ports();
  ports.tx_options.isolation = Isolation::kSerializable;
  TransferHandler serializable(ports);
  EXPECT_CALL(tx_, WithinTransaction(_, ::testing::Field(&TxOptions::isolation,
                                                         Isolation::kSerializable), _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAborted, reason::kTransactionConflict, "")));
  EXPECT_THAT(serializable(ctx_, Cmd(kA, kB, 30)),
              StatusIs(absl::StatusCode::kAborted, reason::kTransactionConflict));
}

// No handler makes a movement of more than two legs yet; MoveMoney must not care.
class ThreeLegTest : public UseCaseTest {
 protected:
  static constexpr char kC[] = "00000000-0000-0000-0000-00000000000c";
  static Movement Split(const char* rid = "split-1") {
    return *Movement::OfLegs(*RequestId::Parse(rid), TransferKind::kTransfer,
                             *Currency::Parse("EUR"),
                             {Leg{*WalletId::Parse(kB), -100}, Leg{*WalletId::Parse(kA), 60},
                              Leg{*WalletId::Parse(kC), 40}});
  }
};

TEST_F(ThreeLegTest, LocksSavesAndRecordsEveryWalletInOneTransaction) {
  EXPECT_CALL(wallets_, LockForUpdate(_, ElementsAre(*WalletId::Parse(kA), *WalletId::Parse(kB),
                                                     *WalletId::Parse(kC))))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 0, 1), StoredWallet(kB, 100, 7),
                                           StoredWallet(kC, 5, 3)}));
  {
    InSequence in_order;
    EXPECT_CALL(wallets_, SaveAll(_,
                                  ElementsAre(WalletState(kA, 60, 2), WalletState(kB, 0, 8),
                                              WalletState(kC, 45, 4)),
                                  ElementsAre(1, 7, 3)))
        .WillOnce(Return(absl::OkStatus()));
    EXPECT_CALL(transfers_, Insert(_, _)).WillOnce(Invoke([](Context& c, const Transfer& t) {
      EXPECT_TRUE(MockTransactor::Active(c));
      EXPECT_EQ(t.postings.size(), 3u);
      EXPECT_EQ(t.amount.minor_units(), 100);
      return absl::OkStatus();
    }));
  }
  EXPECT_CALL(tx_, WithinTransaction(_, _, _)).Times(1);
  auto result = MoveMoney(Ports(), ctx_, caller_, Split(), *WalletId::Parse(kC));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->balance_after, 45);
  EXPECT_FALSE(result->replayed);
}

TEST_F(ThreeLegTest, OneMissingWalletIsNotFoundAndWritesNothing) {
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 0, 1), StoredWallet(kB, 100, 7)}));
  auto result = MoveMoney(Ports(), ctx_, caller_, Split(), *WalletId::Parse(kC));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  EXPECT_EQ(result.status().message(), std::string("no wallet ") + kC);
}

TEST_F(ThreeLegTest, AThirdWalletOfAnotherTenantIsRefusedAndWritesNothing) {
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 0, 1), StoredWallet(kB, 100, 7),
                                           StoredWallet(kC, 5, 3, "EUR", "other")}));
  EXPECT_THAT(MoveMoney(Ports(), ctx_, caller_, Split(), *WalletId::Parse(kC)),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kTenantMismatch));
}

TEST_F(ThreeLegTest, ReplayComparesEveryLeg) {
  Wallet a = StoredWallet(kA, 0, 1), b = StoredWallet(kB, 100, 7), c = StoredWallet(kC, 5, 3);
  const Transfer stored = *Split().Apply(*TransferId::Parse(kTransferId), kNow, {&a, &b, &c});
  // The first run drained B: this one is refused, and the stored transfer answers it.
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .Times(2)
      .WillRepeatedly(Return(std::vector<Wallet>{StoredWallet(kA, 60, 2), StoredWallet(kB, 0, 8),
                                                 StoredWallet(kC, 45, 4)}));
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).Times(2).WillRepeatedly(Return(stored));
  auto replay = MoveMoney(Ports(), ctx_, caller_, Split(), *WalletId::Parse(kA));
  ASSERT_THAT(replay, IsOk());
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->balance_after, 60);
  // The same request id with the credits shared otherwise is another payload.
  Movement other = *Movement::OfLegs(
      *RequestId::Parse("split-1"), TransferKind::kTransfer, *Currency::Parse("EUR"),
      {Leg{*WalletId::Parse(kB), -100}, Leg{*WalletId::Parse(kA), 50},
       Leg{*WalletId::Parse(kC), 50}});
  EXPECT_THAT(MoveMoney(Ports(), ctx_, caller_, other, *WalletId::Parse(kA)),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kIdempotencyKeyReused));
}

class DepositTest : public UseCaseTest {
 protected:
  DepositHandler handler_{Ports()};
};

TEST_F(DepositTest, CreditsTheWallet) {
  EXPECT_CALL(wallets_, LockForUpdate(_, ElementsAre(*WalletId::Parse(kA))))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 5, 3)}));
  EXPECT_CALL(wallets_, SaveAll(_, ElementsAre(WalletState(kA, 105, 4)), ElementsAre(3)))
      .WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _)).WillOnce(Invoke([](Context&, const Transfer& t) {
    EXPECT_EQ(t.kind, TransferKind::kDeposit);
    EXPECT_FALSE(t.from().has_value());
    return absl::OkStatus();
  }));
  auto result = handler_(ctx_, {"dep-1", kA, 100, "EUR"});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->balance_after, 105);
}

TEST_F(DepositTest, ErrorBranches) {
  EXPECT_THAT(handler_(ctx_, {"dep-1", kA, 0, "EUR"}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidAmount));
  EXPECT_THAT(handler_(ctx_, {"", kA, 1, "EUR"}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidRequestId));
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, std::numeric_limits<int64_t>::max(), 3)}))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 0, 3, "USD")}));
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).Times(2).WillRepeatedly(Return(std::nullopt));
  EXPECT_THAT(handler_(ctx_, {"dep-1", kA, 1, "EUR"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kBalanceOverflow));
  EXPECT_THAT(handler_(ctx_, {"dep-1", kA, 1, "EUR"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kCurrencyMismatch));
}

TEST_F(DepositTest, ReplayReturnsTheOriginalDeposit) {
  Wallet a = StoredWallet(kA, 0, 0);
  Transfer original = *Movement::Deposit("dep-1", kA, 100, "EUR")
                           ->Apply(*TransferId::Parse(kTransferId), kNow, {&a});
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 100, 1)}));
  EXPECT_CALL(wallets_, SaveAll(_, _, _)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _))
      .WillOnce(Return(DomainError(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId,
                                   "taken")));
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(original));
  auto result = handler_(ctx_, {"dep-1", kA, 100, "EUR"});
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->replayed);
  EXPECT_EQ(result->balance_after, 100);
}

class WithdrawTest : public UseCaseTest {
 protected:
  WithdrawHandler handler_{Ports()};
};

TEST_F(WithdrawTest, DebitsTheWallet) {
  EXPECT_CALL(wallets_, LockForUpdate(_, ElementsAre(*WalletId::Parse(kA))))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 100, 3)}));
  EXPECT_CALL(wallets_, SaveAll(_, ElementsAre(WalletState(kA, 60, 4)), ElementsAre(3)))
      .WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(transfers_, Insert(_, _)).WillOnce(Invoke([](Context&, const Transfer& t) {
    EXPECT_EQ(t.kind, TransferKind::kWithdrawal);
    EXPECT_FALSE(t.to().has_value());
    return absl::OkStatus();
  }));
  auto result = handler_(ctx_, {"wd-1", kA, 40, "EUR"});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->balance_after, 60);
}

TEST_F(WithdrawTest, ErrorBranches) {
  EXPECT_THAT(handler_(ctx_, {"wd-1", "nope", 1, "EUR"}),
              StatusIs(absl::StatusCode::kInvalidArgument, reason::kInvalidWalletId));
  EXPECT_CALL(wallets_, LockForUpdate(_, _))
      .WillOnce(Return(std::vector<Wallet>{StoredWallet(kA, 39, 3)}))
      .WillOnce(Return(std::vector<Wallet>{}));
  // Only the refusal by a rule looks the request id up: the missing wallet has no tenant.
  EXPECT_CALL(transfers_, FindByRequestId(_, _, _)).WillOnce(Return(std::nullopt));
  EXPECT_THAT(handler_(ctx_, {"wd-1", kA, 40, "EUR"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kInsufficientFunds));
  EXPECT_THAT(handler_(ctx_, {"wd-1", kA, 40, "EUR"}),
              StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
}

}  // namespace
}  // namespace walletd::testing
