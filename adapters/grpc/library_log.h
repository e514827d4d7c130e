#pragma once
// gRPC and protobuf print their own messages to stderr, in their own formats, by default: one
// such line in walletd's stream of JSON lines makes the stream no JSON, and some are provoked by
// clients at will (protobuf complains of every string field that is not UTF-8).

#include "ports/logger.h"

namespace walletd::grpc_adapter {

// Sends every message of gRPC (gpr_log) and protobuf (GOOGLE_LOG) to `logger`, as lines with
// "msg":"grpc" or "msg":"protobuf" and the text, file and line. gRPC's DEBUG, INFO and ERROR
// become debug, info and error; protobuf's INFO, WARNING, ERROR and FATAL become info, warn, error
// and error. Call once at start-up, before gRPC or protobuf are used from more than one thread.
// `logger` must outlive every use of gRPC and protobuf in the process (in practice: never
// destroyed); nullptr routes to nothing at all.
void RouteLibraryLogs(Logger* logger);

// While one lives on a thread, protobuf's messages from that thread are logged at debug level:
// they are about a client's bytes being parsed, and the call's own line already reports them
// (MALFORMED_REQUEST). Nests.
class ParsingClientBytes {
 public:
  ParsingClientBytes();
  ~ParsingClientBytes();
  ParsingClientBytes(const ParsingClientBytes&) = delete;
  ParsingClientBytes& operator=(const ParsingClientBytes&) = delete;
};

}  // namespace walletd::grpc_adapter
