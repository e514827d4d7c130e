// The error contract at the edges of the wire, and a prompt exit: bodies that are no request of
// the method's type and bodies over the size limit get their documented code, an ErrorInfo and a
// call log line; the log stream stays JSON whatever a client sends; walletd leaves soon after
// SIGTERM even while clients keep idle connections open.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>

#include "tests/e2e/e2e_fixture.h"

namespace walletd::testing {
namespace {

using ::grpc::StatusCode;

// A length-delimited field: its tag byte, a one-byte length and `value` (under 128 bytes).
std::string Field(int number, const std::string& value) {
  return std::string(1, static_cast<char>(number << 3 | 2)) +
         std::string(1, static_cast<char>(value.size())) + value;
}

class ContractTest : public E2eTest {
 protected:
  // Sends `body` as it is to wallet.v1.WalletService/`method` with x-request-id `request_id`.
  static ::grpc::Status RawCall(const WalletdProcess& process, const std::string& method,
                                const std::string& body, const std::string& request_id) {
    ::grpc::GenericStub stub(
        ::grpc::CreateChannel(process.address(), ::grpc::InsecureChannelCredentials()));
    auto ctx = Client();
    ctx->AddMetadata("x-request-id", request_id);
    ::grpc::Slice slice(body);
    const ::grpc::ByteBuffer request(&slice, 1);
    ::grpc::CompletionQueue cq;
    auto call =
        stub.PrepareUnaryCall(ctx.get(), "/wallet.v1.WalletService/" + method, request, &cq);
    call->StartCall();
    ::grpc::ByteBuffer response;
    ::grpc::Status status(StatusCode::UNKNOWN, "no answer");
    call->Finish(&response, &status, &status);
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));  // Bounded by the call's deadline.
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {}
    return status;
  }

  // The call line walletd logged for `request_id`, or "" when there is none (after 5 s).
  static std::string CallLine(const WalletdProcess& process, const std::string& request_id) {
    const std::string needle = "\"request_id\":\"" + request_id + "\"";
    if (!process.WaitForLine(needle, absl::Seconds(5))) return "";
    for (const std::string& line : process.Lines()) {
      if (line.find(needle) != std::string::npos) return line;
    }
    return "";
  }

  // Every line walletd wrote so far is one JSON object.
  static void ExpectOnlyJson(const WalletdProcess& process) {
    for (const std::string& line : process.Lines()) {
      google::protobuf::Struct parsed;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok())
          << "not JSON: " << line;
    }
  }

  int64_t Transfers() { return sql_->Int("SELECT count(*) FROM transfers"); }
};

TEST_F(ContractTest, UndecodableBodyIsInvalidArgumentWithAReasonAndALogLine) {
  // A length that runs past the end, and a varint that never ends.
  const std::string bodies[] = {Field(1, "abc").substr(0, 4), "\xff\xff\xff\xff"};
  int n = 0;
  for (const std::string& body : bodies) {
    const std::string rid = "undecodable-" + std::to_string(n++);
    EXPECT_THAT(RawCall(*walletd_, "Balance", body, rid),
                GrpcIs(StatusCode::INVALID_ARGUMENT, reason::kMalformedRequest));
    const std::string line = CallLine(*walletd_, rid);
    EXPECT_NE(line.find("\"method\":\"Balance\",\"code\":\"INVALID_ARGUMENT\","
                        "\"reason\":\"MALFORMED_REQUEST\""),
              std::string::npos)
        << line;
  }
  ExpectOnlyJson(*walletd_);
}

TEST_F(ContractTest, InvalidUtf8InAStringFieldIsMalformedAndChangesNothing) {
  const std::string a = OpenWallet(100), b = OpenWallet(0);
  const int64_t before = Transfers();
  // A TransferRequest whose request_id (field 1) holds a byte that starts no UTF-8 character.
  const std::string money = Field(2, "EUR") + std::string("\x08\x05", 2);  // currency, 5 units.
  const std::string transfer = Field(1, "tr-\xC3(") + Field(2, a) + Field(3, b) + Field(4, money);
  EXPECT_THAT(RawCall(*walletd_, "Transfer", transfer, "bad-utf8-transfer"),
              GrpcIs(StatusCode::INVALID_ARGUMENT, reason::kMalformedRequest));
  EXPECT_THAT(RawCall(*walletd_, "Balance", Field(1, "\xFF\xFE"), "bad-utf8-balance"),
              GrpcIs(StatusCode::INVALID_ARGUMENT, reason::kMalformedRequest));
  for (const char* rid : {"bad-utf8-transfer", "bad-utf8-balance"}) {
    EXPECT_NE(CallLine(*walletd_, rid).find("\"reason\":\"MALFORMED_REQUEST\""), std::string::npos)
        << rid;
  }
  // The same bytes with a valid request id move the money: the test's encoding is right.
  const std::string fixed = Field(1, "tr-ok") + Field(2, a) + Field(3, b) + Field(4, money);
  EXPECT_TRUE(RawCall(*walletd_, "Transfer", fixed, "good-transfer").ok());
  EXPECT_EQ(Transfers(), before + 1);
  EXPECT_EQ(WireBalance(b), 5);
  ExpectOnlyJson(*walletd_);
}

TEST_F(ContractTest, BodyOverTheLimitIsResourceExhaustedRequestTooLarge) {
  // A well-formed BalanceRequest of 70,000 bytes: its wallet id is long, not malformed.
  const std::string id(70'000, 'a');
  std::string body = "\x0a";
  for (size_t n = id.size(); n > 0; n >>= 7) {
    body.push_back(static_cast<char>((n & 0x7f) | (n >> 7 ? 0x80 : 0)));
  }
  body += id;
  EXPECT_THAT(RawCall(*walletd_, "Balance", body, "too-large"),
              GrpcIs(StatusCode::RESOURCE_EXHAUSTED, reason::kRequestTooLarge));
  EXPECT_NE(CallLine(*walletd_, "too-large")
                .find("\"code\":\"RESOURCE_EXHAUSTED\",\"reason\":\"REQUEST_TOO_LARGE\""),
            std::string::npos);
  // Over gRPC's transport limit (4 MiB) the transport refuses the body before walletd sees it:
  // the same code, without walletd's ErrorInfo (documented), and walletd serves on.
  std::string huge = "\x0a";
  const size_t huge_size = 5 << 20;
  for (size_t n = huge_size; n > 0; n >>= 7) {
    huge.push_back(static_cast<char>((n & 0x7f) | (n >> 7 ? 0x80 : 0)));
  }
  huge += std::string(huge_size, 'a');
  EXPECT_EQ(RawCall(*walletd_, "Balance", huge, "huge").error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
  // Just under the limit, it is an ordinary request with an invalid wallet id.
  EXPECT_THAT(RawCall(*walletd_, "Balance", Field(1, std::string(100, 'a')), "long-id"),
              GrpcIs(StatusCode::INVALID_ARGUMENT, reason::kInvalidWalletId));
  ExpectOnlyJson(*walletd_);
}

// Protobuf complains of every string that is not UTF-8, and gRPC of its own troubles: both in
// walletd's JSON stream, not in their own formats.
TEST_F(ContractTest, LibraryMessagesJoinTheJsonLogStream) {
  auto debug = StartWalletd({"--log_level=debug"});
  ASSERT_FALSE(debug->address().empty());
  EXPECT_THAT(RawCall(*debug, "Balance", Field(1, "\xFF"), "library-line"),
              GrpcIs(StatusCode::INVALID_ARGUMENT, reason::kMalformedRequest));
  EXPECT_TRUE(debug->WaitForLine("\"msg\":\"protobuf\"", absl::Seconds(5)));
  for (const std::string& line : debug->Lines()) {
    if (line.find("\"msg\":\"protobuf\"") == std::string::npos) continue;
    EXPECT_NE(line.find("\"level\":\"debug\""), std::string::npos) << line;
    EXPECT_NE(line.find("UTF-8"), std::string::npos) << line;
  }
  ExpectOnlyJson(*debug);
  debug->Signal(SIGTERM);
  EXPECT_EQ(debug->Wait(absl::Seconds(10)), 0);
  ExpectOnlyJson(*debug);
}

// How long walletd takes from SIGTERM to its exit.
absl::Duration ExitTime(WalletdProcess& process, int* exit_status) {
  const absl::Time signalled = absl::Now();
  process.Signal(SIGTERM);
  *exit_status = process.Wait(absl::Seconds(10));
  return absl::Now() - signalled;
}

TEST_F(ContractTest, IdleWalletdExitsPromptlyAfterSigterm) {
  int exit_status = -1;
  const absl::Duration took = ExitTime(*walletd_, &exit_status);
  EXPECT_EQ(exit_status, 0);
  EXPECT_LT(took, absl::Milliseconds(500));
  std::cout << "idle walletd exited " << absl::ToDoubleMilliseconds(took) << " ms after SIGTERM\n";
}

// gRPC's graceful goodbye waits for each client to acknowledge it, and a gRPC C++ client without
// a call in flight reads its connection only every 5 s: walletd must not wait for that.
TEST_F(ContractTest, WalletdExitsPromptlyAfterSigtermWhileAClientKeepsAnIdleConnection) {
  const std::string a = OpenWallet(5);
  EXPECT_EQ(WireBalance(a), 5);  // The channel is open, and idle from now on.
  int exit_status = -1;
  const absl::Duration took = ExitTime(*walletd_, &exit_status);
  EXPECT_EQ(exit_status, 0);
  EXPECT_LT(took, absl::Milliseconds(500));
  EXPECT_TRUE(walletd_->WaitForLine("\"msg\":\"stopped\"", absl::Seconds(1)));
  std::cout << "walletd with an idle client exited " << absl::ToDoubleMilliseconds(took)
            << " ms after SIGTERM\n";
}

}  // namespace
}  // namespace walletd::testing
