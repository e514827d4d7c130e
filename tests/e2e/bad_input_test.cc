// Bad input through a real channel, one table row per case: every field of every request empty,
// too long, of the wrong characters, not UTF-8, zero, negative, at the INT64 extremes, overflowing
// a balance, naming an unknown currency, wallet or transfer, a wallet paying itself, forged page
// tokens, oversize and undecodable bodies. Each row gets its documented code and ErrorInfo reason,
// a message in valid UTF-8, and changes nothing: the wallets' balances and histories read through
// the wire and the database's rows are the same before and after.
//
// Requests go out as wire bytes through grpc::GenericStub, so that a row can carry what no
// well-behaved encoder would produce.

#include <grpcpp/generic/generic_stub.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/rpc/status.pb.h"
#include "tests/e2e/e2e_fixture.h"

namespace walletd::testing {
namespace {

using ::grpc::StatusCode;
namespace v1 = ::wallet::v1;
namespace r = ::walletd::reason;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
// walletd takes requests of at most 64 KiB (cmd/walletd: SetMaxReceiveMessageSize).
constexpr size_t kBodyBytesMax = 64 * 1024;
// Messages echo a few bytes of the input, never a payload: far below this.
constexpr size_t kMessageBytesMax = 1024;
// A well-formed UUID no wallet or transfer has (walletd's are v7, made now).
constexpr char kUnknownId[] = "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d";

// ---- Wire bytes, by hand -----------------------------------------------------------------------

std::string Varint(uint64_t value) {
  std::string out;
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<char>((value & 0x7f) | 0x80));
  out.push_back(static_cast<char>(value));
  return out;
}

// A length-delimited field: a string, bytes or an embedded message.
std::string Field(int number, std::string_view bytes) {
  return Varint(static_cast<uint64_t>(number) << 3 | 2) + Varint(bytes.size()) + std::string(bytes);
}

// A method's full name and a request body.
struct Req {
  std::string method;
  std::string body;
};

// Appending a field after the message overrides a string field (the last one wins) and merges
// into an embedded message: how a string field gets bytes that are no UTF-8.
Req WithRaw(Req req, int number, std::string_view raw) {
  req.body += Field(number, raw);
  return req;
}
Req WithRawCurrency(Req req, int amount_number, std::string_view raw) {
  req.body += Field(amount_number, Field(v1::Money::kCurrencyFieldNumber, raw));
  return req;
}
Req WithBody(Req req, std::string body) {
  req.body = std::move(body);
  return req;
}

void SetMoney(int64_t units, std::string_view currency, v1::Money* money) {
  money->set_minor_units(units);
  money->set_currency(std::string(currency));
}

Req CreateWallet(std::string_view rid, std::string_view currency) {
  v1::CreateWalletRequest m;
  m.set_request_id(std::string(rid));
  m.set_currency(std::string(currency));
  return {"/wallet.v1.WalletService/CreateWallet", m.SerializeAsString()};
}
Req Deposit(std::string_view rid, std::string_view wallet, int64_t units,
            std::string_view currency = "EUR") {
  v1::DepositRequest m;
  m.set_request_id(std::string(rid));
  m.set_wallet_id(std::string(wallet));
  SetMoney(units, currency, m.mutable_amount());
  return {"/wallet.v1.WalletService/Deposit", m.SerializeAsString()};
}
Req Withdraw(std::string_view rid, std::string_view wallet, int64_t units,
             std::string_view currency = "EUR") {
  v1::WithdrawRequest m;
  m.set_request_id(std::string(rid));
  m.set_wallet_id(std::string(wallet));
  SetMoney(units, currency, m.mutable_amount());
  return {"/wallet.v1.WalletService/Withdraw", m.SerializeAsString()};
}
Req Transfer(std::string_view rid, std::string_view from, std::string_view to, int64_t units,
             std::string_view currency = "EUR") {
  v1::TransferRequest m;
  m.set_request_id(std::string(rid));
  m.set_from_wallet_id(std::string(from));
  m.set_to_wallet_id(std::string(to));
  SetMoney(units, currency, m.mutable_amount());
  return {"/wallet.v1.WalletService/Transfer", m.SerializeAsString()};
}
Req Balance(std::string_view wallet) {
  v1::BalanceRequest m;
  m.set_wallet_id(std::string(wallet));
  return {"/wallet.v1.WalletService/Balance", m.SerializeAsString()};
}
Req GetTransfer(std::string_view id) {
  v1::GetTransferRequest m;
  m.set_transfer_id(std::string(id));
  return {"/wallet.v1.WalletService/GetTransfer", m.SerializeAsString()};
}
Req List(std::string_view wallet, int32_t page_size, std::string_view token) {
  v1::ListTransfersRequest m;
  m.set_wallet_id(std::string(wallet));
  m.set_page_size(page_size);
  m.set_page_token(std::string(token));
  return {"/wallet.v1.WalletService/ListTransfers", m.SerializeAsString()};
}

std::string Repeat(std::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

// ---- Checks ------------------------------------------------------------------------------------

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). Written here
// rather than taken from walletd, so that the check does not share walletd's mistakes.
bool IsUtf8(std::string_view s) {
  static constexpr uint32_t kLeast[] = {0, 0x80, 0x800, 0x10000};
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t more = 0;
    uint32_t cp = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      more = 1, cp = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      more = 2, cp = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      more = 3, cp = lead & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= more) return false;
    for (size_t k = 1; k <= more; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      cp = cp << 6 | (next & 0x3f);
    }
    if (cp < kLeast[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += more + 1;
  }
  return true;
}

std::string CodeName(StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// One case: what is sent, and the documented answer.
struct Row {
  std::string name;
  Req req;
  StatusCode code;
  std::string_view reason;
};

// Invalid UTF-8 of several kinds, each alone or after valid text.
const std::vector<std::pair<std::string, std::string>>& NotUtf8() {
  static const auto* kinds = new std::vector<std::pair<std::string, std::string>>{
      {"a lone 0xff", "\xff"},
      {"a stray continuation byte", "ab\x80"},
      {"a lead byte without its continuation", "EU\xc3"},
      {"an overlong '/'", "\xc0\xaf"},
      {"a UTF-16 surrogate", "\xed\xa0\x80"},
      {"a code point past U+10FFFF", "\xf4\x90\x80\x80"},
      {"latin-1 'e acute'", "caf\xe9"},
  };
  return *kinds;
}

class BadInputTest : public E2eTest {
 protected:
  // The wallets every row may touch, with a history each.
  struct World {
    std::string a;       // EUR, 10000 after a deposit, a transfer to b and a withdrawal.
    std::string b;       // EUR, 2500, paid by a.
    std::string usd;     // USD, 500.
    std::string empty;   // EUR, 0, no history.
    std::string full;    // EUR, INT64_MAX.
    std::string near;    // EUR, INT64_MAX - 10.
    std::string transfer_id;  // a's deposit.
    std::string token_a;      // a's first next_page_token at page_size 1.
    std::string token_b;      // b's.
  };

  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    channel_ = ::grpc::CreateChannel(walletd_->address(), ::grpc::InsecureChannelCredentials());
    generic_ = std::make_unique<::grpc::GenericStub>(channel_);
    ASSERT_NO_FATAL_FAILURE(BuildWorld());
  }

  void TearDown() override {
    // A channel still open would hold walletd's shutdown for its whole grace period.
    generic_.reset();
    channel_.reset();
    E2eTest::TearDown();
  }

  void BuildWorld() {
    w_.a = OpenWallet(0);
    w_.b = OpenWallet(2000);
    w_.usd = OpenWallet(500, "USD");
    w_.empty = OpenWallet(0);
    w_.full = OpenWallet(kMax);
    w_.near = OpenWallet(kMax - 10);
    v1::DepositRequest deposit;
    deposit.set_request_id("world-deposit");
    deposit.set_wallet_id(w_.a);
    SetMoney(11000, "EUR", deposit.mutable_amount());
    v1::DepositResponse deposited;
    ASSERT_TRUE(stub_->Deposit(Client().get(), deposit, &deposited).ok());
    w_.transfer_id = deposited.transfer().id();
    v1::TransferRequest transfer;
    transfer.set_request_id("world-transfer");
    transfer.set_from_wallet_id(w_.a);
    transfer.set_to_wallet_id(w_.b);
    SetMoney(500, "EUR", transfer.mutable_amount());
    v1::TransferResponse transferred;
    ASSERT_TRUE(stub_->Transfer(Client().get(), transfer, &transferred).ok());
    v1::WithdrawRequest withdraw;
    withdraw.set_request_id("world-withdraw");
    withdraw.set_wallet_id(w_.a);
    SetMoney(500, "EUR", withdraw.mutable_amount());
    v1::WithdrawResponse withdrawn;
    ASSERT_TRUE(stub_->Withdraw(Client().get(), withdraw, &withdrawn).ok());
    ASSERT_EQ(WireBalance(w_.a), 10000);
    ASSERT_EQ(WireBalance(w_.b), 2500);
    ASSERT_EQ(WireBalance(w_.full), kMax);
    w_.token_a = FirstToken(w_.a);
    w_.token_b = FirstToken(w_.b);
    ASSERT_FALSE(w_.token_a.empty());
    ASSERT_FALSE(w_.token_b.empty());
    ASSERT_EQ(sql_->Int("SELECT count(*) FROM transfers"), 7);  // 4 seeds and a's 3.
  }

  std::string FirstToken(const std::string& wallet) {
    v1::ListTransfersRequest list;
    list.set_wallet_id(wallet);
    list.set_page_size(1);
    v1::ListTransfersResponse page;
    EXPECT_TRUE(stub_->ListTransfers(Client().get(), list, &page).ok());
    return page.next_page_token();
  }

  ::grpc::Status Call(const Req& req, const std::string& call_id) {
    ::grpc::Slice slice(req.body);
    ::grpc::ByteBuffer request(&slice, 1);
    ::grpc::ByteBuffer response;
    auto ctx = Client();
    ctx->AddMetadata("x-request-id", call_id);
    ::grpc::CompletionQueue cq;
    auto call = generic_->PrepareUnaryCall(ctx.get(), req.method, request, &cq);
    call->StartCall();
    ::grpc::Status status;
    call->Finish(&response, &status, this);
    void* tag = nullptr;
    bool ok = false;
    // The client context's deadline bounds this wait.
    EXPECT_TRUE(cq.Next(&tag, &ok) && ok && tag == this);
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  }

  // What a row must leave as it found: every world wallet as the wire shows it (balance,
  // version, update time, whole history), and the database's rows.
  std::vector<std::pair<std::string, std::string>> Snapshot() {
    std::vector<std::pair<std::string, std::string>> state;
    for (const std::string* id : {&w_.a, &w_.b, &w_.usd, &w_.empty, &w_.full, &w_.near}) {
      v1::BalanceRequest balance;
      balance.set_wallet_id(*id);
      v1::BalanceResponse wallet;
      EXPECT_TRUE(stub_->Balance(Client().get(), balance, &wallet).ok());
      state.emplace_back("wallet " + *id, wallet.ShortDebugString());
      v1::ListTransfersRequest list;
      list.set_wallet_id(*id);
      list.set_page_size(500);
      v1::ListTransfersResponse page;
      EXPECT_TRUE(stub_->ListTransfers(Client().get(), list, &page).ok());
      EXPECT_TRUE(page.next_page_token().empty());
      state.emplace_back("history of " + *id, page.ShortDebugString());
    }
    for (const char* table : {"wallets", "transfers", "entries"}) {
      state.emplace_back(absl::StrCat("rows in ", table),
                         sql_->Value(absl::StrCat("SELECT count(*) FROM ", table)));
    }
    state.emplace_back(
        "wallet rows",
        sql_->Value("SELECT md5(string_agg(concat_ws(' ', id, request_id, currency, balance, "
                    "version, created_at, updated_at), ',' ORDER BY id)) FROM wallets"));
    return state;
  }

  void Run(const std::vector<Row>& rows) {
    ASSERT_FALSE(rows.empty());
    auto before = Snapshot();
    int n = 0;
    for (const Row& row : rows) {
      SCOPED_TRACE("row: " + row.name);
      const ::grpc::Status status = Call(row.req, absl::StrCat("bad-input-", ++n));
      ExpectAnswer(row, status);
      auto after = Snapshot();
      ASSERT_EQ(after.size(), before.size());
      for (size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(after[i].second, before[i].second) << row.name << " changed " << after[i].first;
      }
      before = std::move(after);
    }
    EXPECT_EQ(IdleInTransaction(), 0);
  }

  // The row's code and reason in an ErrorInfo of domain walletd, as the contract says, with a
  // google.rpc.Status that agrees with the call's and a short message in valid UTF-8.
  static void ExpectAnswer(const Row& row, const ::grpc::Status& status) {
    const auto info = ErrorInfoOf(status);
    const std::string got = absl::StrCat(CodeName(status.error_code()), " ",
                                         info ? info->reason() : "<no ErrorInfo>");
    const std::string want = absl::StrCat(CodeName(row.code), " ", std::string(row.reason));
    EXPECT_EQ(got, want) << row.name << ": message \"" << absl::CHexEscape(status.error_message())
                         << "\"";
    if (info) {
      EXPECT_EQ(info->domain(), "walletd") << row.name;
      const auto request_id = info->metadata().find("request_id");
      EXPECT_TRUE(request_id != info->metadata().end() && !request_id->second.empty()) << row.name;
      google::rpc::Status details;
      ASSERT_TRUE(details.ParseFromString(status.error_details())) << row.name;
      EXPECT_EQ(details.code(), static_cast<int>(status.error_code())) << row.name;
      EXPECT_EQ(details.message(), status.error_message()) << row.name;
    }
    EXPECT_TRUE(IsUtf8(status.error_message())) << row.name << ": " << status.error_message();
    EXPECT_LE(status.error_message().size(), kMessageBytesMax) << row.name;
  }

  std::string Rid() { return absl::StrCat("bad-", ++rids_); }

  World w_;
  std::shared_ptr<::grpc::Channel> channel_;
  std::unique_ptr<::grpc::GenericStub> generic_;
  int rids_ = 0;
};

constexpr auto kInvalid = StatusCode::INVALID_ARGUMENT;

TEST_F(BadInputTest, EveryStringFieldRefusesEmptyTooLongAndWrongCharacters) {
  const World& w = w_;
  const std::string long_rid(RequestId::kLengthMax + 1, 'x');
  const std::string huge(60 * 1024, 'x');  // Too long for any field, not for the body.
  const std::string upper_a = absl::AsciiStrToUpper(w.a);
  // The largest body walletd takes: refused for its field, not for its size.
  const Req body_at_limit = CreateWallet(std::string(kBodyBytesMax - 9, 'x'), "EUR");
  ASSERT_EQ(body_at_limit.body.size(), kBodyBytesMax);
  std::string dash_moved = w.a;
  std::swap(dash_moved[7], dash_moved[8]);
  std::vector<Row> rows = {
      // request_id: 1 to 128 of [A-Za-z0-9._:-], in every method that takes one.
      {"CreateWallet empty request_id", CreateWallet("", "EUR"), kInvalid, r::kInvalidRequestId},
      {"CreateWallet request_id of 129", CreateWallet(long_rid, "EUR"),
       kInvalid, r::kInvalidRequestId},
      {"CreateWallet request_id of 60 KiB", CreateWallet(huge, "EUR"),
       kInvalid, r::kInvalidRequestId},
      {"CreateWallet request_id with a space", CreateWallet("open 1", "EUR"),
       kInvalid, r::kInvalidRequestId},
      {"CreateWallet request_id with a slash", CreateWallet("open/1", "EUR"),
       kInvalid, r::kInvalidRequestId},
      {"CreateWallet request_id with a NUL", CreateWallet(std::string("open\0x", 6), "EUR"),
       kInvalid, r::kInvalidRequestId},
      {"CreateWallet request_id non-ASCII", CreateWallet("caf\xc3\xa9", "EUR"),
       kInvalid, r::kInvalidRequestId},
      {"Deposit empty request_id", Deposit("", w.a, 1), kInvalid, r::kInvalidRequestId},
      {"Deposit request_id of 129", Deposit(long_rid, w.a, 1), kInvalid, r::kInvalidRequestId},
      {"Deposit request_id with a newline", Deposit("dep\n1", w.a, 1),
       kInvalid, r::kInvalidRequestId},
      {"Withdraw empty request_id", Withdraw("", w.a, 1), kInvalid, r::kInvalidRequestId},
      {"Withdraw request_id of 129", Withdraw(long_rid, w.a, 1), kInvalid, r::kInvalidRequestId},
      {"Withdraw request_id with a quote", Withdraw("wd\"1", w.a, 1),
       kInvalid, r::kInvalidRequestId},
      {"Transfer empty request_id", Transfer("", w.a, w.b, 1), kInvalid, r::kInvalidRequestId},
      {"Transfer request_id of 129", Transfer(long_rid, w.a, w.b, 1),
       kInvalid, r::kInvalidRequestId},
      {"Transfer request_id of 60 KiB", Transfer(huge, w.a, w.b, 1),
       kInvalid, r::kInvalidRequestId},
      {"CreateWallet body of exactly 64 KiB, request_id too long", body_at_limit,
       kInvalid, r::kInvalidRequestId},
      {"Transfer request_id with an emoji", Transfer("pay-\xf0\x9f\x92\xb8", w.a, w.b, 1),
       kInvalid, r::kInvalidRequestId},
      // Wallet ids: a UUID in 8-4-4-4-12 hex form.
      {"Deposit empty wallet_id", Deposit(Rid(), "", 1), kInvalid, r::kInvalidWalletId},
      {"Deposit wallet_id one too long", Deposit(Rid(), w.a + "0", 1),
       kInvalid, r::kInvalidWalletId},
      {"Deposit wallet_id of 60 KiB", Deposit(Rid(), huge, 1), kInvalid, r::kInvalidWalletId},
      {"Deposit wallet_id not hex", Deposit(Rid(), "0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6g", 1),
       kInvalid, r::kInvalidWalletId},
      {"Deposit wallet_id in braces", Deposit(Rid(), "{" + w.a + "}", 1),
       kInvalid, r::kInvalidWalletId},
      {"Deposit wallet_id with spaces around", Deposit(Rid(), " " + w.a + " ", 1),
       kInvalid, r::kInvalidWalletId},
      {"Deposit wallet_id without dashes", Deposit(Rid(), absl::StrReplaceAll(w.a, {{"-", ""}}), 1),
       kInvalid, r::kInvalidWalletId},
      {"Deposit wallet_id with a URN prefix", Deposit(Rid(), "urn:uuid:" + w.a, 1),
       kInvalid, r::kInvalidWalletId},
      {"Withdraw empty wallet_id", Withdraw(Rid(), "", 1), kInvalid, r::kInvalidWalletId},
      {"Withdraw wallet_id 'nope'", Withdraw(Rid(), "nope", 1), kInvalid, r::kInvalidWalletId},
      {"Withdraw wallet_id of 18 e-acutes (36 bytes)", Withdraw(Rid(), Repeat("\xc3\xa9", 18), 1),
       kInvalid, r::kInvalidWalletId},
      {"Transfer empty from_wallet_id", Transfer(Rid(), "", w.b, 1), kInvalid, r::kInvalidWalletId},
      {"Transfer empty to_wallet_id", Transfer(Rid(), w.a, "", 1), kInvalid, r::kInvalidWalletId},
      {"Transfer from_wallet_id one too long", Transfer(Rid(), w.a + "0", w.b, 1),
       kInvalid, r::kInvalidWalletId},
      {"Transfer to_wallet_id of 60 KiB", Transfer(Rid(), w.a, huge, 1),
       kInvalid, r::kInvalidWalletId},
      {"Transfer to_wallet_id with a fullwidth digit",
       Transfer(Rid(), w.a, "\xef\xbc\x90" + w.b.substr(1), 1),
       kInvalid, r::kInvalidWalletId},
      {"Transfer from_wallet_id with a dash moved", Transfer(Rid(), dash_moved, w.b, 1),
       kInvalid, r::kInvalidWalletId},
      {"Balance empty wallet_id", Balance(""), kInvalid, r::kInvalidWalletId},
      {"Balance wallet_id of 60 KiB", Balance(huge), kInvalid, r::kInvalidWalletId},
      {"Balance wallet_id with a NUL", Balance(w.a.substr(0, 35) + std::string(1, '\0')),
       kInvalid, r::kInvalidWalletId},
      {"Balance wallet_id with a trailing newline", Balance(w.a + "\n"),
       kInvalid, r::kInvalidWalletId},
      {"ListTransfers empty wallet_id", List("", 10, ""), kInvalid, r::kInvalidWalletId},
      {"ListTransfers wallet_id one too long", List(w.a + "0", 10, ""),
       kInvalid, r::kInvalidWalletId},
      {"ListTransfers wallet_id not hex", List("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", 10, ""),
       kInvalid, r::kInvalidWalletId},
      // Transfer ids.
      {"GetTransfer empty transfer_id", GetTransfer(""), kInvalid, r::kInvalidTransferId},
      {"GetTransfer transfer_id '42'", GetTransfer("42"), kInvalid, r::kInvalidTransferId},
      {"GetTransfer transfer_id one too long", GetTransfer(w.transfer_id + "0"),
       kInvalid, r::kInvalidTransferId},
      {"GetTransfer transfer_id of 60 KiB", GetTransfer(huge), kInvalid, r::kInvalidTransferId},
      {"GetTransfer transfer_id in braces", GetTransfer("{" + w.transfer_id + "}"),
       kInvalid, r::kInvalidTransferId},
      // Currencies: three capitals naming an ISO-4217 currency.
      {"CreateWallet empty currency", CreateWallet(Rid(), ""), kInvalid, r::kInvalidCurrency},
      {"CreateWallet currency in lower case", CreateWallet(Rid(), "eur"),
       kInvalid, r::kInvalidCurrency},
      {"CreateWallet currency of 4", CreateWallet(Rid(), "EURO"), kInvalid, r::kInvalidCurrency},
      {"CreateWallet currency of 60 KiB", CreateWallet(Rid(), huge), kInvalid, r::kInvalidCurrency},
      {"CreateWallet currency with a digit", CreateWallet(Rid(), "E1R"),
       kInvalid, r::kInvalidCurrency},
      {"CreateWallet currency with a Cyrillic E", CreateWallet(Rid(), "\xd0\x95UR"),
       kInvalid, r::kInvalidCurrency},
      {"CreateWallet currency of six euro signs", CreateWallet(Rid(), Repeat("\xe2\x82\xac", 6)),
       kInvalid, r::kInvalidCurrency},
      {"CreateWallet currency with a NUL", CreateWallet(Rid(), std::string("EU\0", 3)),
       kInvalid, r::kInvalidCurrency},
      {"Deposit empty currency", Deposit(Rid(), w.a, 1, ""), kInvalid, r::kInvalidCurrency},
      {"Deposit currency ' EUR'", Deposit(Rid(), w.a, 1, " EUR"), kInvalid, r::kInvalidCurrency},
      {"Withdraw empty currency", Withdraw(Rid(), w.a, 1, ""), kInvalid, r::kInvalidCurrency},
      {"Withdraw currency in lower case", Withdraw(Rid(), w.a, 1, "eur"),
       kInvalid, r::kInvalidCurrency},
      {"Transfer empty currency", Transfer(Rid(), w.a, w.b, 1, ""), kInvalid, r::kInvalidCurrency},
      {"Transfer currency of 60 KiB", Transfer(Rid(), w.a, w.b, 1, huge),
       kInvalid, r::kInvalidCurrency},
      // An upper-case id is the same wallet, so it is not a way around SAME_WALLET.
      {"Transfer to the same wallet", Transfer(Rid(), w.a, w.a, 1), kInvalid, r::kSameWallet},
      {"Transfer to the same wallet in upper case", Transfer(Rid(), w.a, upper_a, 1),
       kInvalid, r::kSameWallet},
      {"Transfer from a wallet to itself with no money", Transfer(Rid(), w.empty, w.empty, 1),
       kInvalid, r::kSameWallet},
      // An empty body is a request with every field at its default.
      {"CreateWallet empty body", WithBody(CreateWallet("", ""), ""),
       kInvalid, r::kInvalidRequestId},
      {"Deposit empty body", WithBody(Deposit("", "", 0), ""), kInvalid, r::kInvalidRequestId},
      {"Withdraw empty body", WithBody(Withdraw("", "", 0), ""), kInvalid, r::kInvalidRequestId},
      {"Transfer empty body", WithBody(Transfer("", "", "", 0), ""),
       kInvalid, r::kInvalidRequestId},
      {"Balance empty body", WithBody(Balance(""), ""), kInvalid, r::kInvalidWalletId},
      {"GetTransfer empty body", WithBody(GetTransfer(""), ""), kInvalid, r::kInvalidTransferId},
      {"ListTransfers empty body", WithBody(List("", 0, ""), ""), kInvalid, r::kInvalidWalletId},
  };
  Run(rows);
}

TEST_F(BadInputTest, AmountsZeroNegativeAtTheExtremesOrOverflowingMoveNothing) {
  const World& w = w_;
  constexpr auto kRefused = StatusCode::FAILED_PRECONDITION;
  v1::DepositRequest no_amount_deposit;
  no_amount_deposit.set_request_id(Rid());
  no_amount_deposit.set_wallet_id(w.a);
  v1::WithdrawRequest no_amount_withdraw;
  no_amount_withdraw.set_request_id(Rid());
  no_amount_withdraw.set_wallet_id(w.a);
  v1::TransferRequest no_amount_transfer;
  no_amount_transfer.set_request_id(Rid());
  no_amount_transfer.set_from_wallet_id(w.a);
  no_amount_transfer.set_to_wallet_id(w.b);
  const std::string refused_rid = Rid();  // Refused below, then used for a deposit that fits.
  std::vector<Row> rows = {
      {"Deposit zero", Deposit(Rid(), w.a, 0), kInvalid, r::kInvalidAmount},
      {"Deposit -1", Deposit(Rid(), w.a, -1), kInvalid, r::kInvalidAmount},
      {"Deposit INT64_MIN", Deposit(Rid(), w.a, kMin), kInvalid, r::kInvalidAmount},
      {"Deposit without an amount",
       WithBody(Deposit("", "", 0), no_amount_deposit.SerializeAsString()),
       kInvalid, r::kInvalidAmount},
      {"Withdraw zero", Withdraw(Rid(), w.a, 0), kInvalid, r::kInvalidAmount},
      {"Withdraw -1", Withdraw(Rid(), w.a, -1), kInvalid, r::kInvalidAmount},
      {"Withdraw INT64_MIN", Withdraw(Rid(), w.a, kMin), kInvalid, r::kInvalidAmount},
      {"Withdraw without an amount",
       WithBody(Withdraw("", "", 0), no_amount_withdraw.SerializeAsString()),
       kInvalid, r::kInvalidAmount},
      {"Transfer zero", Transfer(Rid(), w.a, w.b, 0), kInvalid, r::kInvalidAmount},
      {"Transfer -1", Transfer(Rid(), w.a, w.b, -1), kInvalid, r::kInvalidAmount},
      {"Transfer INT64_MIN", Transfer(Rid(), w.a, w.b, kMin), kInvalid, r::kInvalidAmount},
      {"Transfer -1 the other way round", Transfer(Rid(), w.b, w.a, -1),
       kInvalid, r::kInvalidAmount},
      {"Transfer without an amount",
       WithBody(Transfer("", "", "", 0), no_amount_transfer.SerializeAsString()),
       kInvalid, r::kInvalidAmount},
      // Overflow on credit: the balance would pass INT64_MAX.
      {"Deposit 1 into a wallet at INT64_MAX", Deposit(Rid(), w.full, 1),
       kRefused, r::kBalanceOverflow},
      {"Deposit INT64_MAX into a wallet at INT64_MAX", Deposit(Rid(), w.full, kMax),
       kRefused, r::kBalanceOverflow},
      {"Deposit 11 into a wallet at INT64_MAX - 10", Deposit(refused_rid, w.near, 11),
       kRefused, r::kBalanceOverflow},
      {"Deposit INT64_MAX into a wallet at INT64_MAX - 10", Deposit(Rid(), w.near, kMax),
       kRefused, r::kBalanceOverflow},
      {"Deposit INT64_MAX into a wallet of 10000", Deposit(Rid(), w.a, kMax),
       kRefused, r::kBalanceOverflow},
      {"Transfer 11 into a wallet at INT64_MAX - 10", Transfer(Rid(), w.full, w.near, 11),
       kRefused, r::kBalanceOverflow},
      {"Transfer 1 into a wallet at INT64_MAX", Transfer(Rid(), w.a, w.full, 1),
       kRefused, r::kBalanceOverflow},
      {"Transfer INT64_MAX into a wallet of 2500", Transfer(Rid(), w.full, w.b, kMax),
       kRefused, r::kBalanceOverflow},
      // More than the balance.
      {"Withdraw INT64_MAX from 10000", Withdraw(Rid(), w.a, kMax),
       kRefused, r::kInsufficientFunds},
      {"Withdraw 10001 from 10000", Withdraw(Rid(), w.a, 10001), kRefused, r::kInsufficientFunds},
      {"Withdraw 1 from an empty wallet", Withdraw(Rid(), w.empty, 1),
       kRefused, r::kInsufficientFunds},
      {"Transfer INT64_MAX from 10000", Transfer(Rid(), w.a, w.b, kMax),
       kRefused, r::kInsufficientFunds},
      {"Transfer 1 from an empty wallet", Transfer(Rid(), w.empty, w.a, 1),
       kRefused, r::kInsufficientFunds},
      {"Transfer 10001 from 10000 into a wallet at INT64_MAX - 10",
       Transfer(Rid(), w.a, w.near, 10001),
       kRefused, r::kInsufficientFunds},
  };
  Run(rows);
  // A refused request does not use up its request id: the same id with a payload that fits works.
  ASSERT_FALSE(HasFailure());
  v1::DepositRequest deposit;
  deposit.set_request_id(refused_rid);
  deposit.set_wallet_id(w.near);
  SetMoney(10, "EUR", deposit.mutable_amount());
  v1::DepositResponse deposited;
  ASSERT_TRUE(stub_->Deposit(Client().get(), deposit, &deposited).ok());
  EXPECT_FALSE(deposited.replayed());
  EXPECT_EQ(WireBalance(w.near), kMax);
  ExpectLedgerMatchesBalances();
}

TEST_F(BadInputTest, UnknownCurrencyWalletOrTransferIsRefused) {
  const World& w = w_;
  constexpr auto kRefused = StatusCode::FAILED_PRECONDITION;
  constexpr auto kNotFound = StatusCode::NOT_FOUND;
  const std::string unknown_upper = absl::AsciiStrToUpper(kUnknownId);
  std::vector<Row> rows = {
      // Shaped like a code, but no ISO-4217 currency ("XXX" is ISO's "no currency").
      {"CreateWallet currency XYZ", CreateWallet(Rid(), "XYZ"), kInvalid, r::kInvalidCurrency},
      {"CreateWallet currency XXX", CreateWallet(Rid(), "XXX"), kInvalid, r::kInvalidCurrency},
      {"CreateWallet currency ABC", CreateWallet(Rid(), "ABC"), kInvalid, r::kInvalidCurrency},
      {"Deposit currency XYZ", Deposit(Rid(), w.a, 1, "XYZ"), kInvalid, r::kInvalidCurrency},
      {"Withdraw currency ABC", Withdraw(Rid(), w.a, 1, "ABC"), kInvalid, r::kInvalidCurrency},
      {"Transfer currency EUX", Transfer(Rid(), w.a, w.b, 1, "EUX"), kInvalid, r::kInvalidCurrency},
      // A real currency, not the wallet's.
      {"Deposit USD into a EUR wallet", Deposit(Rid(), w.a, 1, "USD"),
       kRefused, r::kCurrencyMismatch},
      {"Withdraw USD from a EUR wallet", Withdraw(Rid(), w.a, 1, "USD"),
       kRefused, r::kCurrencyMismatch},
      {"Withdraw EUR from a USD wallet", Withdraw(Rid(), w.usd, 1, "EUR"),
       kRefused, r::kCurrencyMismatch},
      {"Transfer USD between EUR wallets", Transfer(Rid(), w.a, w.b, 1, "USD"),
       kRefused, r::kCurrencyMismatch},
      {"Transfer XTS between EUR wallets", Transfer(Rid(), w.a, w.b, 1, "XTS"),
       kRefused, r::kCurrencyMismatch},
      {"Transfer EUR into a USD wallet", Transfer(Rid(), w.a, w.usd, 1, "EUR"),
       kRefused, r::kCurrencyMismatch},
      {"Transfer USD from a USD wallet into a EUR one", Transfer(Rid(), w.usd, w.a, 1, "USD"),
       kRefused, r::kCurrencyMismatch},
      // Unknown wallets, in any case.
      {"Deposit into an unknown wallet", Deposit(Rid(), kUnknownId, 1),
       kNotFound, r::kWalletNotFound},
      {"Deposit into an unknown wallet in upper case", Deposit(Rid(), unknown_upper, 1),
       kNotFound, r::kWalletNotFound},
      {"Withdraw from an unknown wallet", Withdraw(Rid(), kUnknownId, 1),
       kNotFound, r::kWalletNotFound},
      {"Transfer from an unknown wallet", Transfer(Rid(), kUnknownId, w.a, 1),
       kNotFound, r::kWalletNotFound},
      {"Transfer into an unknown wallet", Transfer(Rid(), w.a, kUnknownId, 1),
       kNotFound, r::kWalletNotFound},
      {"Transfer from an unknown wallet to itself", Transfer(Rid(), kUnknownId, unknown_upper, 1),
       kInvalid, r::kSameWallet},
      {"Balance of an unknown wallet", Balance(kUnknownId), kNotFound, r::kWalletNotFound},
      {"Balance of a transfer's id", Balance(w.transfer_id), kNotFound, r::kWalletNotFound},
      {"ListTransfers of an unknown wallet", List(kUnknownId, 10, ""),
       kNotFound, r::kWalletNotFound},
      {"ListTransfers of an unknown wallet in upper case", List(unknown_upper, 0, ""),
       kNotFound, r::kWalletNotFound},
      // Unknown transfers.
      {"GetTransfer of an unknown id", GetTransfer(kUnknownId), kNotFound, r::kTransferNotFound},
      {"GetTransfer of a wallet's id", GetTransfer(w.a), kNotFound, r::kTransferNotFound},
  };
  Run(rows);
}

TEST_F(BadInputTest, ForgedPageTokensAreRefused) {
  const World& w = w_;
  // Forgeries start from a token walletd handed out: "v1:<wallet>:<version>", web-safe base64.
  std::string plain;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(w.token_a, &plain));
  const std::vector<std::string> parts = absl::StrSplit(plain, ':');
  ASSERT_EQ(parts.size(), 3u) << plain;
  ASSERT_EQ(parts[0], "v1");
  ASSERT_EQ(parts[1], w.a);
  const std::string& version = parts[2];
  ASSERT_EQ(version, "3");  // a's newest of three changes is on page 1; page 2 starts below it.
  auto mint = [](const std::string& wallet, const std::string& tail) {
    return absl::WebSafeBase64Escape(absl::StrCat("v1:", wallet, ":", tail));
  };
  ASSERT_EQ(mint(w.a, version), w.token_a);  // The forgeries below differ from it on purpose.
  // The genuine token works, so every refusal below is for the forgery.
  ASSERT_TRUE(Call(List(w.a, 1, w.token_a), "genuine-token").ok());
  ASSERT_TRUE(Call(List(absl::AsciiStrToUpper(w.a), 1, w.token_a), "genuine-token-upper").ok());
  std::string padded = w.token_a;
  while (padded.size() % 4 != 0) padded += '=';
  ASSERT_NE(padded, w.token_a);
  std::string last_changed = w.token_a;
  last_changed.back() = last_changed.back() == 'A' ? 'B' : 'A';
  std::vector<Row> rows;
  auto refused = [&](const std::string& name, const std::string& wallet, const std::string& token) {
    rows.push_back({name, List(wallet, 1, token), kInvalid, r::kInvalidPageToken});
  };
  // Non-canonical spellings of the same position.
  refused("version with a plus sign", w.a, mint(w.a, "+" + version));
  refused("version after a space", w.a, mint(w.a, " " + version));
  refused("version before a space", w.a, mint(w.a, version + " "));
  refused("version before a newline", w.a, mint(w.a, version + "\n"));
  refused("version with a leading zero", w.a, mint(w.a, "0" + version));
  refused("wallet in upper case inside", w.a, mint(absl::AsciiStrToUpper(w.a), version));
  refused("base64 padding added", w.a, padded);
  refused("standard base64 with padding", w.a, absl::Base64Escape(plain));
  refused("token in upper case", w.a, absl::AsciiStrToUpper(w.token_a));
  refused("space before the token", w.a, " " + w.token_a);
  refused("newline after the token", w.a, w.token_a + "\n");
  refused("NUL after the token", w.a, w.token_a + std::string(1, '\0'));
  // Positions walletd never hands out.
  refused("version 0", w.a, mint(w.a, "0"));
  refused("version -1", w.a, mint(w.a, "-1"));
  refused("version INT64_MIN", w.a, mint(w.a, std::to_string(kMin)));
  refused("version past INT64_MAX", w.a, mint(w.a, "9223372036854775808"));
  refused("version in hex", w.a, mint(w.a, "0x3"));
  refused("version empty", w.a, mint(w.a, ""));
  refused("format v2", w.a, absl::WebSafeBase64Escape(absl::StrCat("v2:", w.a, ":", version)));
  refused("format V1", w.a, absl::WebSafeBase64Escape(absl::StrCat("V1:", w.a, ":", version)));
  refused("a fourth part", w.a, mint(w.a, version + ":0"));
  refused("no version part", w.a, absl::WebSafeBase64Escape(absl::StrCat("v1:", w.a)));
  // Minted for another wallet.
  refused("b's token for a", w.a, w.token_b);
  refused("a's token for b", w.b, w.token_a);
  refused("a's token for an empty wallet", w.empty, w.token_a);
  refused("a's token for an unknown wallet", kUnknownId, w.token_a);
  refused("an unknown wallet's token for a", w.a, mint(kUnknownId, version));
  // Garbage.
  refused("not base64", w.a, "not-a-token!");
  refused("percent signs", w.a, "%%%%");
  refused("base64 of garbage", w.a, absl::WebSafeBase64Escape("garbage"));
  refused("AAAA", w.a, "AAAA");
  refused("one character", w.a, "v");
  refused("last character changed", w.a, last_changed);
  refused("60 KiB", w.a, std::string(60 * 1024, 'A'));
  refused("non-ASCII", w.a, "\xc3\xa9t\xc3\xa9");
  // page_size comes first: a negative one is refused whatever the token.
  rows.push_back({"page_size -1", List(w.a, -1, ""), kInvalid, r::kInvalidPageSize});
  rows.push_back({"page_size INT32_MIN", List(w.a, std::numeric_limits<int32_t>::min(), ""),
                  kInvalid, r::kInvalidPageSize});
  rows.push_back({"page_size -1 with a genuine token", List(w.a, -1, w.token_a), kInvalid,
                  r::kInvalidPageSize});
  for (Row& row : rows) row.name = "ListTransfers page token: " + row.name;
  Run(rows);
}

// Defect 5 of issue 16: these bytes are no request of the method's type, yet the contract holds.
TEST_F(BadInputTest, UndecodableBytesAndInvalidUtf8AreMalformedRequests) {
  const World& w = w_;
  using CreateMsg = v1::CreateWalletRequest;
  using DepositMsg = v1::DepositRequest;
  using WithdrawMsg = v1::WithdrawRequest;
  using TransferMsg = v1::TransferRequest;
  using BalanceMsg = v1::BalanceRequest;
  using GetMsg = v1::GetTransferRequest;
  using ListMsg = v1::ListTransfersRequest;
  // A string field of a valid request; `in_amount` for Money.currency under field `number`.
  struct StringField {
    std::string name;
    Req valid;
    int number;
    bool in_amount = false;
  };
  const std::vector<StringField> fields = {
      {"CreateWallet request_id", CreateWallet(Rid(), "EUR"), CreateMsg::kRequestIdFieldNumber},
      {"CreateWallet currency", CreateWallet(Rid(), "EUR"), CreateMsg::kCurrencyFieldNumber},
      {"Deposit request_id", Deposit(Rid(), w.a, 1), DepositMsg::kRequestIdFieldNumber},
      {"Deposit wallet_id", Deposit(Rid(), w.a, 1), DepositMsg::kWalletIdFieldNumber},
      {"Deposit amount.currency", Deposit(Rid(), w.a, 1), DepositMsg::kAmountFieldNumber, true},
      {"Withdraw request_id", Withdraw(Rid(), w.a, 1), WithdrawMsg::kRequestIdFieldNumber},
      {"Withdraw wallet_id", Withdraw(Rid(), w.a, 1), WithdrawMsg::kWalletIdFieldNumber},
      {"Withdraw amount.currency", Withdraw(Rid(), w.a, 1), WithdrawMsg::kAmountFieldNumber, true},
      {"Transfer request_id", Transfer(Rid(), w.a, w.b, 1), TransferMsg::kRequestIdFieldNumber},
      {"Transfer from_wallet_id", Transfer(Rid(), w.a, w.b, 1),
       TransferMsg::kFromWalletIdFieldNumber},
      {"Transfer to_wallet_id", Transfer(Rid(), w.a, w.b, 1), TransferMsg::kToWalletIdFieldNumber},
      {"Transfer amount.currency", Transfer(Rid(), w.a, w.b, 1), TransferMsg::kAmountFieldNumber,
       true},
      {"Balance wallet_id", Balance(w.a), BalanceMsg::kWalletIdFieldNumber},
      {"GetTransfer transfer_id", GetTransfer(w.transfer_id), GetMsg::kTransferIdFieldNumber},
      {"ListTransfers wallet_id", List(w.a, 1, ""), ListMsg::kWalletIdFieldNumber},
      {"ListTransfers page_token", List(w.a, 1, ""), ListMsg::kPageTokenFieldNumber},
  };
  const auto& not_utf8 = NotUtf8();
  std::vector<Row> rows;
  auto malformed = [&rows](const std::string& name, Req req) {
    rows.push_back({name, std::move(req), kInvalid, r::kMalformedRequest});
  };
  // Every kind in the first field, then one kind per field in turn.
  for (const auto& [kind, bytes] : not_utf8) {
    malformed(fields[0].name + ": " + kind, WithRaw(fields[0].valid, fields[0].number, bytes));
  }
  for (size_t i = 1; i < fields.size(); ++i) {
    const StringField& f = fields[i];
    const auto& [kind, bytes] = not_utf8[i % not_utf8.size()];
    malformed(f.name + ": " + kind, f.in_amount ? WithRawCurrency(f.valid, f.number, bytes)
                                                : WithRaw(f.valid, f.number, bytes));
  }
  // Bytes that are no protobuf message at all, after a valid request of every method.
  const std::vector<std::pair<std::string, std::string>> undecodable = {
      {"a tag cut short", "\xff"},
      {"a field longer than the body", "\x0a\x64" "abc"},
      {"wire type 7", "\x0f"},
      {"field number 0", std::string("\x00\x01", 2)},
      {"an end-group without its start", "\x0c"},
      {"a group never closed", "\x0b"},
      {"a varint of 11 bytes", "\x10" + std::string(10, '\xff') + "\x01"},
  };
  for (size_t i = 0; i < fields.size(); ++i) {
    const Req& valid = fields[i].valid;
    if (i > 0 && valid.method == fields[i - 1].valid.method) continue;  // Once per method.
    const std::string method(absl::StripPrefix(valid.method, "/wallet.v1.WalletService/"));
    for (const auto& [kind, bytes] : undecodable) {
      malformed(method + " body with " + kind, WithBody(valid, valid.body + bytes));
    }
  }
  const Req deposit = Deposit(Rid(), w.a, 1);
  malformed("Deposit amount that is no Money",
            WithBody(deposit, deposit.body + Field(DepositMsg::kAmountFieldNumber, "\xff\xff")));
  const Req transfer = Transfer(Rid(), w.a, w.b, 1);
  const std::string units_of_11_bytes = "\x08" + std::string(10, '\xff') + "\x01";
  malformed("Transfer amount.minor_units of 11 bytes",
            WithBody(transfer, transfer.body + Field(TransferMsg::kAmountFieldNumber,
                                                     units_of_11_bytes)));
  Run(rows);
}

// Defect 5 of issue 16: a body over the limit is refused before it is decoded, with the contract's
// details. (A body of exactly the limit is a row of the first test.)
TEST_F(BadInputTest, OversizeBodiesAreRequestTooLarge) {
  const World& w = w_;
  constexpr auto kTooLarge = StatusCode::RESOURCE_EXHAUSTED;
  const Req one_over = CreateWallet(std::string(kBodyBytesMax - 8, 'x'), "EUR");
  ASSERT_EQ(one_over.body.size(), kBodyBytesMax + 1);
  std::string unknown_fields;
  while (unknown_fields.size() <= kBodyBytesMax) {
    unknown_fields += Field(99, std::string(1000, 'u'));
  }
  const std::vector<Row> rows = {
      {"CreateWallet body of 64 KiB + 1", one_over, kTooLarge, r::kRequestTooLarge},
      {"Transfer with a request_id of 1 MiB", Transfer(std::string(1 << 20, 'x'), w.a, w.b, 1),
       kTooLarge, r::kRequestTooLarge},
      {"Deposit with a wallet_id of 100 KiB", Deposit(Rid(), std::string(100 << 10, 'x'), 1),
       kTooLarge, r::kRequestTooLarge},
      {"ListTransfers with a page_token of 100 KiB", List(w.a, 1, std::string(100 << 10, 'A')),
       kTooLarge, r::kRequestTooLarge},
      {"Balance padded with unknown fields past 64 KiB",
       WithBody(Balance(w.a), Balance(w.a).body + unknown_fields),
       kTooLarge, r::kRequestTooLarge},
      {"GetTransfer body of 70 KiB of 0xff",
       WithBody(GetTransfer(""), std::string(70 << 10, '\xff')),
       kTooLarge, r::kRequestTooLarge},
  };
  Run(rows);
}

}  // namespace
}  // namespace walletd::testing
