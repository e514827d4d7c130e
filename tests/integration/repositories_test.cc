// The Postgres repositories against their port contracts, alone and inside transactions.

#include <thread>

#include "domain/status_macros.h"
#include "tests/integration/pg_fixture.h"

namespace walletd::testing {
namespace {

using ::testing::ElementsAre;

const absl::Time kT = absl::FromUnixMicros(1'750'000'000'123'456);

Wallet MakeWallet(UuidV7Generator& ids, const std::string& rid, const char* currency = "EUR",
                  const char* tenant = "default") {
  return Wallet::Open(ids.NewWalletId(), *Tenant::Parse(tenant), *RequestId::Parse(rid),
                      *Currency::Parse(currency), kT);
}

class RepositoriesTest : public PgTest {};

TEST_F(RepositoriesTest, CreateGetAndFindByRequestId) {
  auto ctx = Ctx();
  Wallet w = MakeWallet(ids_, "rid-1", "JPY");
  ASSERT_THAT(wallets_->Create(*ctx, w), IsOk());
  auto got = wallets_->Get(*ctx, w.id());
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->id(), w.id());
  EXPECT_EQ(got->request_id().str(), "rid-1");
  EXPECT_EQ(got->currency().code(), "JPY");
  EXPECT_EQ(got->balance(), 0);
  EXPECT_EQ(got->version(), 0);
  EXPECT_EQ(got->created_at(), kT);  // Microseconds survive the round trip.
  auto by_rid = wallets_->FindByRequestId(*ctx, Tenant::Default(), *RequestId::Parse("rid-1"));
  ASSERT_THAT(by_rid, IsOk());
  ASSERT_TRUE(by_rid->has_value());
  EXPECT_EQ((*by_rid)->id(), w.id());
  auto none = wallets_->FindByRequestId(*ctx, Tenant::Default(), *RequestId::Parse("rid-2"));
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->has_value());
  EXPECT_THAT(wallets_->Get(*ctx, ids_.NewWalletId()),
              StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
}

TEST_F(RepositoriesTest, DuplicateWalletRequestIdIsReported) {
  auto ctx = Ctx();
  ASSERT_THAT(wallets_->Create(*ctx, MakeWallet(ids_, "same")), IsOk());
  EXPECT_THAT(wallets_->Create(*ctx, MakeWallet(ids_, "same")),
              StatusIs(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId));
}

TEST_F(RepositoriesTest, SaveChecksTheVersion) {
  auto ctx = Ctx();
  Wallet w = MakeWallet(ids_, "v");
  ASSERT_THAT(wallets_->Create(*ctx, w), IsOk());
  ASSERT_THAT(w.Credit(*Money::Positive(10, "EUR"), kT), IsOk());
  ASSERT_THAT(wallets_->Save(*ctx, w, 0), IsOk());
  EXPECT_EQ(wallets_->Get(*ctx, w.id())->balance(), 10);
  // A second writer that also read version 0 loses.
  EXPECT_THAT(wallets_->Save(*ctx, w, 0),
              StatusIs(absl::StatusCode::kAborted, reason::kVersionConflict));
  // Inside a transaction the save is deferred and its conflict comes from the commit.
  absl::Status status = transactor_->WithinTransaction(*ctx, {}, [&](Context& c) {
    return wallets_->Save(c, w, 0);
  });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted, reason::kVersionConflict));
  EXPECT_EQ(wallets_->Get(*ctx, w.id())->version(), 1);
}

// A transaction's saves travel together (two wallets in one statement); each keeps its own check.
TEST_F(RepositoriesTest, SavesInOneTransactionEachCheckTheirVersion) {
  auto ctx = Ctx();
  Wallet a = MakeWallet(ids_, "a"), b = MakeWallet(ids_, "b");
  ASSERT_THAT(wallets_->Create(*ctx, a), IsOk());
  ASSERT_THAT(wallets_->Create(*ctx, b), IsOk());
  ASSERT_THAT(a.Credit(*Money::Positive(10, "EUR"), kT), IsOk());
  ASSERT_THAT(b.Credit(*Money::Positive(20, "EUR"), kT), IsOk());
  auto save_both = [&](int64_t a_expected, int64_t b_expected) {
    return transactor_->WithinTransaction(*ctx, {}, [&](Context& c) -> absl::Status {
      RETURN_IF_ERROR(wallets_->Save(c, a, a_expected));
      return wallets_->Save(c, b, b_expected);
    });
  };
  // Either one stale: nothing is written.
  EXPECT_THAT(save_both(0, 7), StatusIs(absl::StatusCode::kAborted, reason::kVersionConflict));
  EXPECT_THAT(save_both(7, 0), StatusIs(absl::StatusCode::kAborted, reason::kVersionConflict));
  EXPECT_EQ(wallets_->Get(*ctx, a.id())->version(), 0);
  EXPECT_EQ(wallets_->Get(*ctx, b.id())->version(), 0);
  ASSERT_THAT(save_both(0, 0), IsOk());
  EXPECT_EQ(wallets_->Get(*ctx, a.id())->balance(), 10);
  EXPECT_EQ(wallets_->Get(*ctx, b.id())->balance(), 20);
  // The same wallet twice in a row: the second save sees the first.
  Wallet twice = a;
  ASSERT_THAT(twice.Credit(*Money::Positive(1, "EUR"), kT), IsOk());
  const int64_t middle = twice.version();
  Wallet again = twice;
  ASSERT_THAT(again.Credit(*Money::Positive(2, "EUR"), kT), IsOk());
  ASSERT_THAT(transactor_->WithinTransaction(*ctx, {}, [&](Context& c) -> absl::Status {
    RETURN_IF_ERROR(wallets_->Save(c, twice, 1));
    return wallets_->Save(c, again, middle);
  }),
              IsOk());
  EXPECT_EQ(wallets_->Get(*ctx, a.id())->balance(), 13);
  EXPECT_EQ(wallets_->Get(*ctx, a.id())->version(), 3);
}

TEST(StatementPairTest, TwoSavesOfDifferentWalletsBecomeOneStatement) {
  auto save = [](const char* id, int64_t balance) {
    pg::Statement s{pg::Sql::kWalletSave, {}};
    s.params.UuidArray({id}).Int64Array({balance}).Int64Array({1}).TimestampArray({kT}).Int64Array({0});
    return s;
  };
  const char* kA = "00000000-0000-4000-8000-00000000000a";
  const char* kB = "00000000-0000-4000-8000-00000000000b";
  const char* kC = "00000000-0000-4000-8000-00000000000c";
  pg::Statement first = save(kA, 1);
  EXPECT_TRUE(pg::Pair(first, save(kB, 2)));
  EXPECT_EQ(first.sql, pg::Sql::kWalletSave);
  EXPECT_EQ(first.params.size(), 5);
  // A third wallet fits too; a second save of a wallet already in it does not.
  EXPECT_TRUE(pg::Pair(first, save(kC, 3)));
  EXPECT_FALSE(pg::Pair(first, save(kB, 4)));
  pg::Statement one = save(kA, 1);
  EXPECT_FALSE(pg::Pair(one, save(kA, 2)));
  EXPECT_EQ(one.sql, pg::Sql::kWalletSave);
  EXPECT_EQ(one.params.size(), 5);
  pg::Statement c_only = save(kC, 3);
  EXPECT_TRUE(first.params.Overlap(0, c_only.params, 0));
  EXPECT_FALSE(one.params.Overlap(0, c_only.params, 0));
}

// SaveAll is one statement whatever the count: every wallet matches its version, or none is written.
TEST_F(RepositoriesTest, SaveAllOfThreeWalletsIsAllOrNone) {
  auto ctx = Ctx();
  std::vector<Wallet> wallets = {MakeWallet(ids_, "s1"), MakeWallet(ids_, "s2"),
                                 MakeWallet(ids_, "s3")};
  for (Wallet& w : wallets) {
    ASSERT_THAT(wallets_->Create(*ctx, w), IsOk());
    ASSERT_THAT(w.Credit(*Money::Positive(7, "EUR"), kT), IsOk());
  }
  const std::vector<int64_t> stale_last = {0, 0, 1};
  EXPECT_THAT(wallets_->SaveAll(*ctx, wallets, stale_last),
              StatusIs(absl::StatusCode::kAborted, reason::kVersionConflict));
  for (const Wallet& w : wallets) EXPECT_EQ(wallets_->Get(*ctx, w.id())->version(), 0);
  const std::vector<int64_t> current = {0, 0, 0};
  ASSERT_THAT(transactor_->WithinTransaction(*ctx, {}, [&](Context& c) {
    return wallets_->SaveAll(c, wallets, current);
  }),
              IsOk());
  for (const Wallet& w : wallets) {
    EXPECT_EQ(wallets_->Get(*ctx, w.id())->balance(), 7);
    EXPECT_EQ(wallets_->Get(*ctx, w.id())->version(), 1);
  }
  std::vector<Wallet> twice = {wallets[0], wallets[0]};
  EXPECT_EQ(wallets_->SaveAll(*ctx, twice, std::vector<int64_t>{1, 1}).code(),
            absl::StatusCode::kInternal);
}

TEST_F(RepositoriesTest, LockForUpdateReturnsTheWalletsThatExistInIdOrder) {
  auto ctx = Ctx();
  Wallet a = MakeWallet(ids_, "a"), b = MakeWallet(ids_, "b");
  ASSERT_THAT(wallets_->Create(*ctx, a), IsOk());
  ASSERT_THAT(wallets_->Create(*ctx, b), IsOk());
  std::vector<WalletId> ids = {a.id(), b.id()};
  std::sort(ids.begin(), ids.end());
  absl::Status status = transactor_->WithinTransaction(*ctx, {}, [&](Context& c) -> absl::Status {
    auto locked = wallets_->LockForUpdate(c, ids);
    EXPECT_THAT(locked, IsOk());
    if (locked.ok()) {
      EXPECT_EQ((*locked)[0].id(), ids[0]);
      EXPECT_EQ((*locked)[1].id(), ids[1]);
    }
    // A missing wallet is left out: the use case answers it like one of another tenant.
    std::vector<WalletId> with_missing = {ids[0], ids_.NewWalletId()};
    auto partial = wallets_->LockForUpdate(c, with_missing);
    EXPECT_THAT(partial, IsOk());
    if (partial.ok()) {
      EXPECT_EQ(partial->size(), 1u);
      if (!partial->empty()) {
        EXPECT_EQ((*partial)[0].id(), ids[0]);
      }
    }
    return absl::OkStatus();
  });
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(wallets_->LockForUpdate(*ctx, ids).status().code(), absl::StatusCode::kInternal);
}

TEST_F(RepositoriesTest, TransfersRoundTripWithTheirPostings) {
  auto ctx = Ctx();
  Wallet a = MakeWallet(ids_, "a"), b = MakeWallet(ids_, "b");
  ASSERT_THAT(wallets_->Create(*ctx, a), IsOk());
  ASSERT_THAT(wallets_->Create(*ctx, b), IsOk());
  Transfer deposit = *Movement::Deposit("d1", a.id().str(), 100, "EUR")
                          ->Apply(ids_.NewTransferId(), kT, {&a});
  Transfer move = *Movement::Transfer("t1", a.id().str(), b.id().str(), 40, "EUR")
                       ->Apply(ids_.NewTransferId(), kT, {&a, &b});
  ASSERT_THAT(transactor_->WithinTransaction(*ctx, {}, [&](Context& c) -> absl::Status {
    RETURN_IF_ERROR(transfers_->Insert(c, deposit));
    RETURN_IF_ERROR(transfers_->Insert(c, move));
    RETURN_IF_ERROR(wallets_->Save(c, a, 0));
    return wallets_->Save(c, b, 0);
  }),
              IsOk());
  auto got = transfers_->FindById(*ctx, move.id);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->request_id.str(), "t1");
  EXPECT_EQ(got->kind, TransferKind::kTransfer);
  EXPECT_EQ(got->from(), a.id());
  EXPECT_EQ(got->to(), b.id());
  EXPECT_EQ(got->amount, *Money::Positive(40, "EUR"));
  EXPECT_EQ(got->created_at, kT);
  ASSERT_EQ(got->postings.size(), 2u);
  EXPECT_EQ(got->postings[0].wallet_id, a.id());
  EXPECT_EQ(got->postings[0].amount, -40);
  EXPECT_EQ(got->postings[0].balance_after, 60);
  EXPECT_EQ(got->postings[0].wallet_version, 2);
  EXPECT_EQ(got->postings[1].wallet_id, b.id());
  EXPECT_EQ(got->postings[1].balance_after, 40);
  auto by_rid = transfers_->FindByRequestId(*ctx, Tenant::Default(), *RequestId::Parse("d1"));
  ASSERT_THAT(by_rid, IsOk());
  ASSERT_TRUE(by_rid->has_value());
  EXPECT_EQ((*by_rid)->kind, TransferKind::kDeposit);
  EXPECT_FALSE((*by_rid)->from().has_value());
  ASSERT_EQ((*by_rid)->postings.size(), 1u);
  EXPECT_THAT(transfers_->FindById(*ctx, ids_.NewTransferId()),
              StatusIs(absl::StatusCode::kNotFound, reason::kTransferNotFound));
  // Duplicate request id: in a transaction it comes from the commit.
  Transfer again = *Movement::Deposit("d1", a.id().str(), 5, "EUR")
                        ->Apply(ids_.NewTransferId(), kT, {&a});
  EXPECT_THAT(transactor_->WithinTransaction(*ctx, {}, [&](Context& c) {
    return transfers_->Insert(c, again);
  }),
              StatusIs(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId));
  ExpectLedgerMatchesBalances();
}

// A movement of three legs (no RPC makes one yet) is one transfer row with three postings, read
// back in the order written by every query: by id, by request id and in each wallet's history.
TEST_F(RepositoriesTest, TransferWithThreePostingsRoundTrips) {
  auto ctx = Ctx();
  Wallet a = MakeWallet(ids_, "a"), b = MakeWallet(ids_, "b"), c = MakeWallet(ids_, "c");
  for (Wallet* w : {&a, &b, &c}) ASSERT_THAT(wallets_->Create(*ctx, *w), IsOk());
  Transfer funding = *Movement::Deposit("fund", a.id().str(), 100, "EUR")
                          ->Apply(ids_.NewTransferId(), kT, {&a});
  const Movement split =
      *Movement::OfLegs(*RequestId::Parse("split"), TransferKind::kTransfer,
                        *Currency::Parse("EUR"),
                        {Leg{b.id(), 70}, Leg{a.id(), -100}, Leg{c.id(), 30}});
  Transfer three = *split.Apply(ids_.NewTransferId(), kT, {&a, &b, &c});
  ASSERT_EQ(three.postings.size(), 3u);
  ASSERT_THAT(transactor_->WithinTransaction(*ctx, {}, [&](Context& tx) -> absl::Status {
    RETURN_IF_ERROR(transfers_->Insert(tx, funding));
    RETURN_IF_ERROR(transfers_->Insert(tx, three));
    return wallets_->SaveAll(tx, std::vector<Wallet>{a, b, c}, std::vector<int64_t>{0, 0, 0});
  }),
              IsOk());
  auto expect_same = [&](const Transfer& got) {
    EXPECT_EQ(got.id, three.id);
    EXPECT_EQ(got.tenant, three.tenant);
    EXPECT_EQ(got.request_id, three.request_id);
    EXPECT_EQ(got.kind, TransferKind::kTransfer);
    EXPECT_EQ(got.amount, *Money::Positive(100, "EUR"));
    EXPECT_EQ(got.created_at, kT);
    EXPECT_EQ(got.from(), a.id());
    EXPECT_EQ(got.to(), three.to());
    ASSERT_EQ(got.postings.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(got.postings[i].wallet_id, three.postings[i].wallet_id) << i;
      EXPECT_EQ(got.postings[i].amount, three.postings[i].amount) << i;
      EXPECT_EQ(got.postings[i].balance_after, three.postings[i].balance_after) << i;
      EXPECT_EQ(got.postings[i].wallet_version, three.postings[i].wallet_version) << i;
    }
    EXPECT_TRUE(split.SamePayloadAs(got));
  };
  EXPECT_EQ(three.postings[0].wallet_id, a.id());
  EXPECT_EQ(three.postings[0].amount, -100);
  EXPECT_EQ(three.postings[0].balance_after, 0);
  EXPECT_EQ(three.PostingOf(b.id())->balance_after, 70);
  EXPECT_EQ(three.PostingOf(c.id())->balance_after, 30);
  auto by_id = transfers_->FindById(*ctx, three.id);
  ASSERT_THAT(by_id, IsOk());
  expect_same(*by_id);
  auto by_rid = transfers_->FindByRequestId(*ctx, Tenant::Default(), *RequestId::Parse("split"));
  ASSERT_THAT(by_rid, IsOk());
  ASSERT_TRUE(by_rid->has_value());
  expect_same(**by_rid);
  for (const Wallet* w : {&a, &b, &c}) {
    auto history = transfers_->ListByWallet(*ctx, w->id(), std::nullopt, 10);
    ASSERT_THAT(history, IsOk());
    ASSERT_FALSE(history->empty());
    expect_same(history->front());
  }
  // The funding deposit, older, comes second in A's history with its one posting.
  auto history = transfers_->ListByWallet(*ctx, a.id(), std::nullopt, 10);
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[1].id, funding.id);
  ASSERT_EQ((*history)[1].postings.size(), 1u);
  EXPECT_FALSE((*history)[1].from().has_value());
  ExpectLedgerMatchesBalances();
}

TEST_F(RepositoriesTest, HistoryIsNewestFirstAndPagesByVersion) {
  std::string a = NewWallet(0);
  for (int i = 1; i <= 5; ++i) {
    auto ctx = Ctx();
    ASSERT_THAT((*deposit_)(*ctx, {"h" + std::to_string(i), a, i, "EUR"}), IsOk());
  }
  auto ctx = Ctx();
  auto id = *WalletId::Parse(a);
  auto page = transfers_->ListByWallet(*ctx, id, std::nullopt, 3);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].amount.minor_units(), 5);
  EXPECT_EQ((*page)[2].amount.minor_units(), 3);
  auto rest = transfers_->ListByWallet(*ctx, id, (*page)[2].postings[0].wallet_version, 3);
  ASSERT_THAT(rest, IsOk());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].amount.minor_units(), 2);
  EXPECT_EQ((*rest)[1].postings[0].balance_after, 1);
  auto none = transfers_->ListByWallet(*ctx, ids_.NewWalletId(), std::nullopt, 3);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace walletd::testing
