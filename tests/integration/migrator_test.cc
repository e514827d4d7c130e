// Migrations: applied once, safely from several processes at once, and guarded against drift.

#include <atomic>
#include <thread>

#include "tests/integration/pg_fixture.h"

namespace walletd::testing {
namespace {

class MigratorTest : public PgTest {
 protected:
  // A fresh, empty schema next to the fixture's; returns a DSN that selects it.
  std::string EmptySchema(const std::string& suffix) {
    const std::string name = schema_ + "_" + suffix;
    sql_->Exec("CREATE SCHEMA " + name);
    extra_.push_back(name);
    return absl::StrCat(BaseDsn(), " options='-csearch_path=", name, "'");
  }
  void TearDown() override {
    for (const auto& name : extra_) sql_->Exec("DROP SCHEMA " + name + " CASCADE");
    PgTest::TearDown();
  }
  std::vector<std::string> extra_;
};

TEST_F(MigratorTest, SecondRunAppliesNothing) {
  std::vector<int> applied;
  ASSERT_THAT(pg::Migrate(dsn_, pg::EmbeddedMigrations(), absl::Now() + absl::Seconds(10), &applied),
              IsOk());
  EXPECT_TRUE(applied.empty());
  EXPECT_EQ(sql_->Int("SELECT count(*) FROM walletd_schema_migrations"),
            static_cast<int64_t>(pg::EmbeddedMigrations().size()));
}

TEST_F(MigratorTest, InstancesStartingTogetherApplyEachMigrationOnce) {
  const std::string dsn = EmptySchema("race");
  std::atomic<int> applied_total{0}, failures{0};
  std::vector<std::thread> instances;
  for (int i = 0; i < 4; ++i) {
    instances.emplace_back([&] {
      std::vector<int> applied;
      if (!pg::Migrate(dsn, pg::EmbeddedMigrations(), absl::Now() + absl::Seconds(20), &applied).ok()) {
        ++failures;
      }
      applied_total += static_cast<int>(applied.size());
    });
  }
  for (auto& t : instances) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied_total.load(), static_cast<int>(pg::EmbeddedMigrations().size()));
}

TEST_F(MigratorTest, AFailedMigrationLeavesNoTraceAndStopsTheRun) {
  const std::string dsn = EmptySchema("broken");
  const pg::Migration migrations[] = {
      {1, "0001_ok", "CREATE TABLE a (x int)"},
      {2, "0002_broken", "CREATE TABLE b (x int); SELECT no_such_column FROM a"},
      {3, "0003_never", "CREATE TABLE c (x int)"},
  };
  absl::Status status = pg::Migrate(dsn, migrations, absl::Now() + absl::Seconds(10));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("0002_broken"), absl::string_view::npos) << status;
  Sql check(dsn);
  EXPECT_EQ(check.Value("SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                        "walletd_schema_migrations"),
            "1");
  EXPECT_EQ(check.Value("SELECT to_regclass('b')::text"), "");
  EXPECT_EQ(check.Value("SELECT to_regclass('c')::text"), "");
}

TEST_F(MigratorTest, ChangedOrUnknownMigrationsAreRefused) {
  sql_->Exec("UPDATE walletd_schema_migrations SET checksum = 'edited' WHERE version = 1");
  EXPECT_EQ(pg::Migrate(dsn_, pg::EmbeddedMigrations(), absl::Now() + absl::Seconds(10)).code(),
            absl::StatusCode::kFailedPrecondition);
  sql_->Exec("DELETE FROM walletd_schema_migrations WHERE version = 1");
  sql_->Exec("INSERT INTO walletd_schema_migrations (version, name, checksum) "
             "VALUES (9999, 'from_the_future', 'x')");
  EXPECT_EQ(pg::Migrate(dsn_, pg::EmbeddedMigrations(), absl::Now() + absl::Seconds(10)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(MigratorTest, UnreachableDatabaseIsUnavailable) {
  EXPECT_THAT(pg::Migrate("host=/nonexistent-walletd-socket-dir dbname=walletd",
                          pg::EmbeddedMigrations(), absl::Now() + absl::Seconds(2)),
              StatusIs(absl::StatusCode::kUnavailable, reason::kDatabaseUnavailable));
}

}  // namespace
}  // namespace walletd::testing
