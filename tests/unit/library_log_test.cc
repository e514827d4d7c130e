// gRPC's and protobuf's own messages reach walletd's logger instead of stderr.

#include "adapters/grpc/library_log.h"

#include <grpc/grpc.h>
#include <grpc/support/log.h>

#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "wallet/v1/wallet.pb.h"

namespace walletd::grpc_adapter {
namespace {

struct Line {
  LogLevel level;
  std::string msg;
  std::string text;
};

class RecordingLogger final : public Logger {
 public:
  bool Enabled(LogLevel) const override { return true; }
  void Write(LogLevel level, std::string_view msg, std::span<const LogField> fields) override {
    Line line{level, std::string(msg), ""};
    for (const LogField& field : fields) {
      if (field.key == "text") line.text = std::string(std::get<std::string_view>(field.value));
    }
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(std::move(line));
  }
  std::vector<Line> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<Line> lines_;
};

class LibraryLogTest : public ::testing::Test {
 protected:
  // gRPC prints nothing before it is initialised.
  void SetUp() override {
    grpc_init();
    RouteLibraryLogs(&logger_);
  }
  void TearDown() override {
    RouteLibraryLogs(nullptr);
    grpc_shutdown();
  }

  // A BalanceRequest whose wallet_id is not UTF-8, as protobuf parses it.
  static bool ParseInvalidUtf8() {
    wallet::v1::BalanceRequest request;
    return request.ParseFromString(std::string("\x0a\x02\xff\xfe", 4));
  }

  RecordingLogger logger_;
};

TEST_F(LibraryLogTest, GrpcErrorsReachTheLogger) {
  gpr_log(GPR_ERROR, "grpc says %d", 42);
  ASSERT_EQ(logger_.lines().size(), 1u);
  EXPECT_EQ(logger_.lines()[0].msg, "grpc");
  EXPECT_EQ(logger_.lines()[0].level, LogLevel::kError);
  EXPECT_EQ(logger_.lines()[0].text, "grpc says 42");
}

TEST_F(LibraryLogTest, ProtobufErrorsReachTheLogger) {
  EXPECT_FALSE(ParseInvalidUtf8());
  ASSERT_EQ(logger_.lines().size(), 1u);
  EXPECT_EQ(logger_.lines()[0].msg, "protobuf");
  EXPECT_EQ(logger_.lines()[0].level, LogLevel::kError);
  EXPECT_NE(logger_.lines()[0].text.find("UTF-8"), std::string::npos) << logger_.lines()[0].text;
}

TEST_F(LibraryLogTest, ProtobufComplaintsAboutAClientsBytesAreDebugLines) {
  {
    ParsingClientBytes scope;
    EXPECT_FALSE(ParseInvalidUtf8());
  }
  EXPECT_FALSE(ParseInvalidUtf8());  // Outside the scope: an error again.
  ASSERT_EQ(logger_.lines().size(), 2u);
  EXPECT_EQ(logger_.lines()[0].level, LogLevel::kDebug);
  EXPECT_EQ(logger_.lines()[1].level, LogLevel::kError);
}

TEST_F(LibraryLogTest, NothingIsLoggedOnceRoutedToNothing) {
  RouteLibraryLogs(nullptr);
  gpr_log(GPR_ERROR, "dropped");
  EXPECT_FALSE(ParseInvalidUtf8());
  EXPECT_TRUE(logger_.lines().empty());
}

}  // namespace
}  // namespace walletd::grpc_adapter
