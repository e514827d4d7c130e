#pragma once
// GoogleMock doubles of every port. The mock Transactor runs the closure, and marks the context
// while it does so that tests can tell writes inside the transaction from writes outside it.

#include "gmock/gmock.h"
#include "ports/clock.h"
#include "ports/id_generator.h"
#include "ports/metrics.h"
#include "ports/transactor.h"
#include "ports/transfer_repository.h"
#include "ports/wallet_repository.h"

namespace walletd::testing {

class MockTransactor : public Transactor {
 public:
  struct InTransaction : ContextSlot {};

  MockTransactor() {
    ON_CALL(*this, WithinTransaction)
        .WillByDefault([this](Context& ctx, const TxOptions&,
                              absl::FunctionRef<absl::Status(Context&)> fn) {
          ContextSlot* outer = ctx.slot();
          ctx.set_slot(&marker_);
          absl::Status status = fn(ctx);
          ctx.set_slot(outer);
          return status;
        });
  }
  MOCK_METHOD(absl::Status, WithinTransaction,
              (Context&, const TxOptions&, absl::FunctionRef<absl::Status(Context&)>),
              (override));

  static bool Active(const Context& ctx) {
    return dynamic_cast<InTransaction*>(ctx.slot()) != nullptr;
  }

 private:
  InTransaction marker_;
};

class MockMetrics : public Metrics {
 public:
  MOCK_METHOD(void, CallFinished,
              (std::string_view, absl::StatusCode, std::string_view, absl::Duration), (override));
  MOCK_METHOD(void, CallRefused, (std::string_view, Refusal), (override));
  MOCK_METHOD(void, TransactionBegun, (), (override));
  MOCK_METHOD(void, TransactionRetried, (std::string_view), (override));
  MOCK_METHOD(void, TransactionFinished, (TxOutcome, int), (override));
  MOCK_METHOD(void, ConnectionAcquireWaited, (absl::Duration), (override));
};

class MockWalletRepository : public WalletRepository {
 public:
  MOCK_METHOD(absl::StatusOr<Wallet>, Get, (Context&, const WalletId&), (override));
  MOCK_METHOD(absl::StatusOr<std::vector<Wallet>>, LockForUpdate,
              (Context&, absl::Span<const WalletId>), (override));
  MOCK_METHOD(absl::Status, Create, (Context&, const Wallet&), (override));
  MOCK_METHOD(absl::StatusOr<std::optional<Wallet>>, FindByRequestId,
              (Context&, const Tenant&, const RequestId&), (override));
  MOCK_METHOD(absl::Status, SaveAll,
              (Context&, absl::Span<const Wallet>, absl::Span<const int64_t>), (override));
};

class MockTransferRepository : public TransferRepository {
 public:
  MOCK_METHOD(absl::Status, Insert, (Context&, const Transfer&), (override));
  MOCK_METHOD(absl::StatusOr<std::optional<Transfer>>, FindByRequestId,
              (Context&, const Tenant&, const RequestId&), (override));
  MOCK_METHOD(absl::StatusOr<Transfer>, FindById, (Context&, const TransferId&), (override));
  MOCK_METHOD(absl::StatusOr<std::vector<Transfer>>, ListByWallet,
              (Context&, const WalletId&, std::optional<int64_t>, int), (override));
};

class MockClock : public Clock {
 public:
  MOCK_METHOD(absl::Time, Now, (), (override));
};

class MockIdGenerator : public IdGenerator {
 public:
  MOCK_METHOD(WalletId, NewWalletId, (), (override));
  MOCK_METHOD(TransferId, NewTransferId, (), (override));
};

}  // namespace walletd::testing
