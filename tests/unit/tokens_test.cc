// The tokens file and bearer authentication: strict parsing with line numbers, hashes compared in
// constant time, one answer for every way a credential can be wrong, and reload that keeps the
// previous set when the new file is bad. Also: MISSING_SCOPE's metadata reaches the ErrorInfo.

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "adapters/grpc/status.h"
#include "adapters/grpc/tokens.h"
#include "domain/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace walletd::grpc_adapter {
namespace {

using ::walletd::testing::IsOk;
using ::walletd::testing::StatusIs;

// printf %s "reader-token" | sha256sum, and so on: the hashes a tokens file would hold.
std::string Line(const std::string& token, const std::string& scopes, const std::string& tenant,
                 const std::string& name) {
  return Sha256Hex(token) + " " + scopes + " " + tenant + " " + name + "\n";
}

TEST(TokensTest, Sha256HexIsWhatSha256sumPrints) {
  // printf %s abc | sha256sum
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokensTest, ParsesScopesTenantsAndNamesAndFindsByToken) {
  auto set = TokenSet::Parse("# comment\n\n" + Line("t-read", "wallets:read", "shop-a", "reader") +
                             "  " + Line("t-both", "wallets:write,wallets:read", "*", "platform"));
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ((*set)->size(), 2u);
  auto reader = (*set)->Find("t-read");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->name, "reader");
  EXPECT_EQ(reader->tenant, "shop-a");
  EXPECT_FALSE(reader->all_tenants);
  EXPECT_TRUE(reader->Has(Scope::kRead));
  EXPECT_FALSE(reader->Has(Scope::kWrite));
  auto platform = (*set)->Find("t-both");
  ASSERT_NE(platform, nullptr);
  EXPECT_TRUE(platform->all_tenants);
  EXPECT_TRUE(platform->Has(Scope::kWrite) && platform->Has(Scope::kRead));
  EXPECT_EQ((*set)->Find("t-rea"), nullptr);
  EXPECT_EQ((*set)->Find(""), nullptr);
  // The hash is what is kept: the hash itself is no token.
  EXPECT_EQ((*set)->Find(Sha256Hex("t-read")), nullptr);
}

TEST(TokensTest, MalformedLinesAreRefusedWithTheirNumberAndWithoutTheirText) {
  const std::string good = Line("t1", "wallets:read", "shop-a", "one");
  const std::string hash = Sha256Hex("t2");
  std::string upper = hash;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"the raw token pasted instead of its hash wallets:read shop-a two\n", "4 fields"},
      {"secret-token wallets:read shop-a two\n", "64 lowercase hex"},
      {upper + " wallets:read shop-a two\n", "64 lowercase hex"},
      {hash.substr(1) + " wallets:read shop-a two\n", "64 lowercase hex"},
      {hash + " wallets:admin shop-a two\n", "scopes"},
      {hash + " wallets:read,wallets:read shop-a two\n", "scopes"},
      {hash + " wallets:read, shop-a two\n", "scopes"},
      {hash + " wallets:read Shop-A two\n", "tenant"},
      {hash + " wallets:read ** two\n", "tenant"},
      {hash + " wallets:read shop-a two\"quoted\n", "name"},
      {hash + " wallets:read shop-a\n", "4 fields"},
      {Sha256Hex("t1") + " wallets:write shop-b two\n", "same token hash as line 1"},
      {hash + " wallets:write shop-b one\n", "same name as line 1"},
  };
  for (const auto& [line, why] : cases) {
    auto set = TokenSet::Parse(good + line);
    ASSERT_FALSE(set.ok()) << line;
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(set.status().message());
    EXPECT_NE(message.find("line 2"), std::string::npos) << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
    EXPECT_EQ(message.find("secret-token"), std::string::npos) << message;
    EXPECT_EQ(message.find("pasted"), std::string::npos) << message;
  }
  EXPECT_FALSE(TokenSet::Parse("# only comments\n\n").ok());
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "walletd_tokens_" + std::to_string(::getpid());
    Write(Line("t-read", "wallets:read", "shop-a", "reader"));
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }
  static absl::StatusOr<std::shared_ptr<const Caller>> Auth(const Authenticator& auth,
                                                            std::vector<std::string_view> values) {
    return auth.Authenticate(values);
  }
  std::string path_;
};

TEST_F(AuthenticatorTest, OnlyOneWellFormedBearerWithAKnownTokenAuthenticates) {
  auto auth = Authenticator::FromFile(path_);
  ASSERT_THAT(auth, IsOk());
  for (std::string_view good : {"Bearer t-read", "bearer t-read", "BEARER t-read"}) {
    auto caller = Auth(**auth, {good});
    ASSERT_THAT(caller, IsOk()) << good;
    EXPECT_EQ((*caller)->name, "reader");
  }
  const std::string expected_message =
      std::string(Auth(**auth, {}).status().message());
  const std::vector<std::vector<std::string_view>> bad = {
      {},
      {"Bearer t-unknown"},
      {"t-read"},
      {"Basic t-read"},
      {"Bearer"},
      {"Bearer "},
      {"Bearer  t-read"},
      {"Bearer t-read "},
      {"Bearer t-re ad"},
      {"Bearer t-read", "Bearer t-read"},
      {"Bearer t-read", "Bearer t-unknown"},
  };
  for (const auto& values : bad) {
    auto caller = Auth(**auth, values);
    EXPECT_THAT(caller, StatusIs(absl::StatusCode::kUnauthenticated, reason::kUnauthenticated))
        << (values.empty() ? "none" : values[0]);
    // One message for every way: it never says which, nor repeats what was sent.
    EXPECT_EQ(caller.status().message(), expected_message);
    EXPECT_EQ(std::string(caller.status().message()).find("t-re"), std::string::npos);
  }
  const std::string long_token = "Bearer " + std::string(kTokenBytesMax + 1, 'x');
  EXPECT_FALSE(Auth(**auth, {long_token}).ok());
}

TEST_F(AuthenticatorTest, ReloadSwapsTheSetAndABadFileKeepsThePreviousOne) {
  auto auth = Authenticator::FromFile(path_);
  ASSERT_THAT(auth, IsOk());
  auto held = Auth(**auth, {"Bearer t-read"});
  ASSERT_THAT(held, IsOk());
  Write(Line("t-new", "wallets:write", "*", "writer"));
  auto reloaded = (*auth)->Reload();
  ASSERT_THAT(reloaded, IsOk());
  EXPECT_EQ(*reloaded, 1u);
  EXPECT_FALSE(Auth(**auth, {"Bearer t-read"}).ok());
  EXPECT_THAT(Auth(**auth, {"Bearer t-new"}), IsOk());
  // A caller authenticated before the reload keeps what it had.
  EXPECT_EQ((*held)->name, "reader");

  Write("garbage\n");
  auto refused = (*auth)->Reload();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(refused.status().message()).find("line 1"), std::string::npos);
  EXPECT_THAT(Auth(**auth, {"Bearer t-new"}), IsOk());
  std::remove(path_.c_str());
  EXPECT_FALSE((*auth)->Reload().ok());
  EXPECT_THAT(Auth(**auth, {"Bearer t-new"}), IsOk());
}

TEST_F(AuthenticatorTest, AMissingOrMalformedFileRefusesToStart) {
  Write("not a tokens file\n");
  EXPECT_EQ(Authenticator::FromFile(path_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Authenticator::FromFile(path_ + ".absent").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OpenAuthenticatorTest, EveryCallIsTheUnrestrictedCaller) {
  auto auth = Authenticator::Open("insecure");
  for (const std::vector<std::string_view>& values :
       std::vector<std::vector<std::string_view>>{{}, {"Bearer whatever"}}) {
    auto caller = auth->Authenticate(values);
    ASSERT_THAT(caller, IsOk());
    EXPECT_EQ((*caller)->name, "insecure");
    EXPECT_TRUE((*caller)->all_tenants);
    EXPECT_TRUE((*caller)->Has(Scope::kRead) && (*caller)->Has(Scope::kWrite));
  }
}

TEST(StatusTest, ErrorMetadataReachesTheErrorInfoAndCodesMapOneToOne) {
  const absl::Status missing = WithMetadata(
      DomainError(absl::StatusCode::kPermissionDenied, reason::kMissingScope, "needs it"), "scope",
      "wallets:write");
  const ::grpc::Status status = ToGrpcStatus(missing, "rid-1");
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "MISSING_SCOPE");
  EXPECT_EQ(info.metadata().at("scope"), "wallets:write");
  EXPECT_EQ(info.metadata().at("request_id"), "rid-1");
  EXPECT_EQ(ToGrpcStatus(DomainError(absl::StatusCode::kUnauthenticated, reason::kUnauthenticated,
                                     "who?"),
                         "r")
                .error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace walletd::grpc_adapter
