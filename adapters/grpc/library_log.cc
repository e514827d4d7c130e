#include "adapters/grpc/library_log.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace walletd::grpc_adapter {
namespace {

std::atomic<Logger*> g_logger{nullptr};
thread_local int t_parsing_client_bytes = 0;

void Emit(std::string_view library, LogLevel level, const char* file, int line,
          std::string_view text) {
  Logger* logger = g_logger.load(std::memory_order_acquire);
  if (logger == nullptr || !logger->Enabled(level)) return;
  logger->Log(level, library,
              {{"text", text},
               {"file", file == nullptr ? std::string_view() : std::string_view(file)},
               {"line", static_cast<int64_t>(line)}});
}

void FromGrpc(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kError;
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      level = LogLevel::kDebug;
      break;
    case GPR_LOG_SEVERITY_INFO:
      level = LogLevel::kInfo;
      break;
    case GPR_LOG_SEVERITY_ERROR:
      level = LogLevel::kError;
      break;
  }
  Emit("grpc", level, args->file, args->line,
       args->message == nullptr ? std::string_view() : std::string_view(args->message));
}

void FromProtobuf(google::protobuf::LogLevel severity, const char* file, int line,
                  const std::string& message) {
  LogLevel level = LogLevel::kError;
  switch (severity) {
    case google::protobuf::LOGLEVEL_INFO:
      level = LogLevel::kInfo;
      break;
    case google::protobuf::LOGLEVEL_WARNING:
      level = LogLevel::kWarn;
      break;
    case google::protobuf::LOGLEVEL_ERROR:
    case google::protobuf::LOGLEVEL_FATAL:
      level = LogLevel::kError;
      break;
  }
  if (t_parsing_client_bytes > 0 && severity != google::protobuf::LOGLEVEL_FATAL) {
    level = LogLevel::kDebug;
  }
  Emit("protobuf", level, file, line, message);
}

void Discard(gpr_log_func_args*) {}

}  // namespace

void RouteLibraryLogs(Logger* logger) {
  g_logger.store(logger, std::memory_order_release);
  gpr_set_log_function(logger == nullptr ? &Discard : &FromGrpc);
  google::protobuf::SetLogHandler(logger == nullptr ? nullptr : &FromProtobuf);
}

ParsingClientBytes::ParsingClientBytes() { ++t_parsing_client_bytes; }
ParsingClientBytes::~ParsingClientBytes() { --t_parsing_client_bytes; }

}  // namespace walletd::grpc_adapter
