// Tenants in the schema: the migration puts existing wallets and transfers in the default tenant,
// request ids are unique per tenant, and no transfer crosses tenants, down to the foreign keys.

#include "tests/integration/pg_fixture.h"

namespace walletd::testing {
namespace {

const absl::Time kT = absl::FromUnixMicros(1'750'000'000'123'456);

class TenantsTest : public PgTest {
 protected:
  void TearDown() override {
    for (const auto& name : extra_) sql_->Exec("DROP SCHEMA " + name + " CASCADE");
    PgTest::TearDown();
  }
  // A context of `caller` (which must outlive it).
  static std::unique_ptr<Context> CtxOf(const Caller& caller) {
    auto ctx = std::make_unique<Context>(absl::Now() + absl::Seconds(30), "it");
    ctx->set_caller(&caller);
    return ctx;
  }
  Wallet MakeWallet(const std::string& rid, const char* tenant) {
    return Wallet::Open(ids_.NewWalletId(), *Tenant::Parse(tenant), *RequestId::Parse(rid),
                        *Currency::Parse("EUR"), kT);
  }
  std::vector<std::string> extra_;
};

constexpr uint32_t kAll = static_cast<uint32_t>(Scope::kRead) | static_cast<uint32_t>(Scope::kWrite);

TEST_F(TenantsTest, TheMigrationPutsExistingWalletsAndTransfersInTheDefaultTenant) {
  const std::string name = schema_ + "_old";
  sql_->Exec("CREATE SCHEMA " + name);
  extra_.push_back(name);
  const std::string dsn = absl::StrCat(BaseDsn(), " options='-csearch_path=", name, "'");
  // The schema as it was before tenants, with a wallet and a deposit in it.
  ASSERT_THAT(pg::Migrate(dsn, pg::EmbeddedMigrations().subspan(0, 1),
                          absl::Now() + absl::Seconds(10)),
              IsOk());
  Sql old(dsn);
  old.Exec("INSERT INTO wallets VALUES ('00000000-0000-7000-8000-000000000001', 'w1', 'EUR', 5, "
           "1, now(), now())");
  old.Exec("INSERT INTO transfers VALUES ('00000000-0000-7000-8000-0000000000f1', 'd1', "
           "'deposit', NULL, '00000000-0000-7000-8000-000000000001', 5, 'EUR', now())");
  std::vector<int> applied;
  ASSERT_THAT(pg::Migrate(dsn, pg::EmbeddedMigrations(), absl::Now() + absl::Seconds(10), &applied),
              IsOk());
  EXPECT_EQ(applied, std::vector<int>({2}));
  EXPECT_EQ(old.Value("SELECT tenant FROM wallets"), "default");
  EXPECT_EQ(old.Value("SELECT tenant FROM transfers"), "default");
  // Request ids are now the tenant's: another tenant may reuse them.
  old.Exec("INSERT INTO wallets (id, request_id, currency, balance, version, created_at, "
           "updated_at, tenant) VALUES ('00000000-0000-7000-8000-000000000002', 'w1', 'EUR', 0, "
           "0, now(), now(), 'shop')");
  EXPECT_EQ(old.Int("SELECT count(*) FROM wallets WHERE request_id = 'w1'"), 2);
}

TEST_F(TenantsTest, RequestIdsAreUniquePerTenant) {
  auto ctx = Ctx();
  Wallet a = MakeWallet("same", "shop-a"), b = MakeWallet("same", "shop-b");
  ASSERT_THAT(wallets_->Create(*ctx, a), IsOk());
  ASSERT_THAT(wallets_->Create(*ctx, b), IsOk());
  EXPECT_THAT(wallets_->Create(*ctx, MakeWallet("same", "shop-a")),
              StatusIs(absl::StatusCode::kAlreadyExists, reason::kDuplicateRequestId));
  auto found = wallets_->FindByRequestId(*ctx, *Tenant::Parse("shop-b"), *RequestId::Parse("same"));
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id(), b.id());
  EXPECT_EQ((*found)->tenant().str(), "shop-b");
  EXPECT_FALSE(wallets_->FindByRequestId(*ctx, Tenant::Default(), *RequestId::Parse("same"))
                   ->has_value());

  Transfer into_a = *Movement::Deposit("pay-1", a.id().str(), 10, "EUR")
                         ->Apply(ids_.NewTransferId(), kT, {&a});
  Transfer into_b = *Movement::Deposit("pay-1", b.id().str(), 20, "EUR")
                         ->Apply(ids_.NewTransferId(), kT, {&b});
  EXPECT_EQ(into_a.tenant.str(), "shop-a");
  ASSERT_THAT(transactor_->WithinTransaction(*ctx, {}, [&](Context& c) -> absl::Status {
    if (absl::Status s = transfers_->Insert(c, into_a); !s.ok()) return s;
    return transfers_->Insert(c, into_b);
  }),
              IsOk());
  auto by_rid = transfers_->FindByRequestId(*ctx, *Tenant::Parse("shop-b"),
                                            *RequestId::Parse("pay-1"));
  ASSERT_THAT(by_rid, IsOk());
  ASSERT_TRUE(by_rid->has_value());
  EXPECT_EQ((*by_rid)->id, into_b.id);
  EXPECT_EQ((*by_rid)->tenant.str(), "shop-b");
  auto by_id = transfers_->FindById(*ctx, into_a.id);
  ASSERT_THAT(by_id, IsOk());
  EXPECT_EQ(by_id->tenant.str(), "shop-a");
}

TEST_F(TenantsTest, OneTenantsRequestIdIsNoReplayForAnother) {
  const Caller shop_a{"a", "shop-a", false, kAll}, shop_b{"b", "shop-b", false, kAll};
  auto ctx_a = CtxOf(shop_a), ctx_b = CtxOf(shop_b);
  auto wa = (*create_wallet_)(*ctx_a, {"open", "EUR", ""});
  auto wb = (*create_wallet_)(*ctx_b, {"open", "EUR", ""});
  ASSERT_THAT(wa, IsOk());
  ASSERT_THAT(wb, IsOk());
  EXPECT_FALSE(wb->replayed);  // The same request id, another tenant: a wallet of its own.
  EXPECT_NE(wa->wallet.id(), wb->wallet.id());
  EXPECT_EQ(wb->wallet.tenant().str(), "shop-b");
  auto da = (*deposit_)(*ctx_a, {"top-up", wa->wallet.id().str(), 100, "EUR"});
  auto db = (*deposit_)(*ctx_b, {"top-up", wb->wallet.id().str(), 7, "EUR"});
  ASSERT_THAT(da, IsOk());
  ASSERT_THAT(db, IsOk());
  EXPECT_FALSE(db->replayed);
  EXPECT_EQ(db->balance_after, 7);
  // Shop B naming shop A's wallet learns nothing, and moves nothing.
  auto stolen = (*deposit_)(*ctx_b, {"steal", wa->wallet.id().str(), 7, "EUR"});
  EXPECT_THAT(stolen, StatusIs(absl::StatusCode::kNotFound, reason::kWalletNotFound));
  EXPECT_EQ(stolen.status().message(), "no wallet " + wa->wallet.id().str());
  EXPECT_EQ(BalanceOf(wa->wallet.id().str()), 100);
  ExpectLedgerMatchesBalances();
}

TEST_F(TenantsTest, NoTransferCrossesTenantsEvenForThePlatform) {
  const Caller shop_a{"a", "shop-a", false, kAll};
  auto ctx_a = CtxOf(shop_a);
  auto wa = (*create_wallet_)(*ctx_a, {"open", "EUR", ""});
  ASSERT_THAT(wa, IsOk());
  ASSERT_THAT((*deposit_)(*ctx_a, {"top-up", wa->wallet.id().str(), 100, "EUR"}), IsOk());
  const std::string in_default = NewWallet(0);
  auto platform = Ctx();
  EXPECT_THAT((*transfer_)(*platform, {"cross", wa->wallet.id().str(), in_default, 10, "EUR"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, reason::kTenantMismatch));
  EXPECT_EQ(BalanceOf(wa->wallet.id().str()), 100);
  EXPECT_EQ(BalanceOf(in_default), 0);
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM transfers WHERE request_id = 'cross'"), 0);
}

}  // namespace
}  // namespace walletd::testing
