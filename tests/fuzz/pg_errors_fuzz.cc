// The SQLSTATE/constraint mapping (adapters/postgres/errors.cc): whatever a server or libpq
// reports, ServerErrorOf reads exactly the fields that came, and StatusOf answers an error with a
// code the contract knows, the reason that goes with it, and a message that is UTF-8 when the
// server's text is.
//
// Input: a flags byte, then the fields SQLSTATE, constraint and message, then extra error fields
// (a type byte and a field each). Flag bit 0 sends them through libpq: a fake server in this process
// answers a query with them as an ErrorResponse, so ServerErrorOf reads a real PGresult. Otherwise
// StatusOf gets them as they are, NUL bytes and all. Bits 1 to 4 send the fields S, C, n and M.

#include <libpq-fe.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/postgres/errors.h"
#include "tests/fuzz/fuzz_support.h"

namespace walletd::fuzz {
namespace {

using absl::StatusCode;

// Each code StatusOf may answer, with the reasons that may go with it.
bool ReasonFitsCode(StatusCode code, const std::string& r) {
  switch (code) {
    case StatusCode::kAlreadyExists:
      return r == reason::kDuplicateRequestId;
    case StatusCode::kAborted:
      return r == reason::kVersionConflict || r == reason::kTransactionConflict;
    case StatusCode::kFailedPrecondition:
      return r == reason::kInsufficientFunds;
    case StatusCode::kInvalidArgument:
      return r == reason::kInvalidAmount || r == reason::kInvalidCurrency ||
             r == reason::kInvalidRequestId || r == reason::kSameWallet;
    case StatusCode::kNotFound:
      return r == reason::kWalletNotFound;
    case StatusCode::kInternal:
      return r == reason::kInternal;
    case StatusCode::kDeadlineExceeded:
      return r == reason::kDeadlineExceeded;
    case StatusCode::kUnavailable:
      return r == reason::kDatabaseUnavailable;
    default:
      return false;
  }
}

bool SameVerdict(const absl::Status& a, const absl::Status& b) {
  return a.code() == b.code() && ReasonOf(a) == ReasonOf(b);
}

void CheckMapping(const pg::ServerError& error) {
  const absl::Status status = pg::StatusOf(error);
  const std::string detail = absl::StrCat(Describe(status), " for {", error.sqlstate, "|",
                                          error.constraint, "|", error.message, "}");
  FUZZ_CHECK(!status.ok(), detail);
  FUZZ_CHECK(!ReasonOf(status).empty(), detail);
  FUZZ_CHECK(ReasonFitsCode(status.code(), ReasonOf(status)), detail);
  // The server's text is UTF-8 when the session's client_encoding is: so must be ours.
  if (IsValidUtf8(error.sqlstate) && IsValidUtf8(error.constraint) && IsValidUtf8(error.message)) {
    FUZZ_CHECK(IsValidUtf8(AsStd(status.message())), detail);
  }
  // The verdict comes from the SQLSTATE and the constraint, never from the human text.
  FUZZ_CHECK(SameVerdict(status, pg::StatusOf({error.sqlstate, error.constraint, "text"})), detail);
  FUZZ_CHECK(SameVerdict(status, pg::StatusOf(error)), detail);
  FUZZ_CHECK(pg::IsRetryable(error.sqlstate) ==
                 (error.sqlstate == "40001" || error.sqlstate == "40P01"),
             detail);

  const absl::Status unnamed = pg::StatusOf({error.sqlstate, "", error.message});
  if (!SameVerdict(status, unnamed)) {
    // A named constraint decides alone, whatever the SQLSTATE says.
    FUZZ_CHECK(!error.constraint.empty(), detail);
    FUZZ_CHECK(SameVerdict(status, pg::StatusOf({"40001", error.constraint, ""})), detail);
    FUZZ_CHECK(SameVerdict(status, pg::StatusOf({"08006", error.constraint, ""})), detail);
    return;
  }
  const std::string& state = error.sqlstate;
  // Conflicts may be retried, a lost connection is UNAVAILABLE (libpq's own errors have no
  // SQLSTATE), and no other SQLSTATE claims to be either.
  if (pg::IsRetryable(state)) {
    FUZZ_CHECK(status.code() == StatusCode::kAborted &&
                   ReasonOf(status) == reason::kTransactionConflict,
               detail);
  } else {
    FUZZ_CHECK(ReasonOf(status) != reason::kTransactionConflict, detail);
  }
  if (state.empty() || absl::StartsWith(state, "08")) {
    FUZZ_CHECK(status.code() == StatusCode::kUnavailable, detail);
  }
}

// A PostgreSQL server reduced to what libpq needs to connect and to get an error back, on an
// abstract Unix socket (no file to clean up). Single-threaded: the client writes into the socket
// buffer, the server reads it back, and the other way round.
class FakeServer {
 public:
  FakeServer() {
    name_ = absl::StrCat("walletd-fuzz-", getpid());
    listener_ = socket(AF_UNIX, SOCK_STREAM, 0);
    FUZZ_CHECK(listener_ >= 0, "socket");
    sockaddr_un addr = Address();
    FUZZ_CHECK(bind(listener_, reinterpret_cast<sockaddr*>(&addr), AddressLength()) == 0, "bind");
    FUZZ_CHECK(listen(listener_, 4) == 0, "listen");
  }

  // The answer to one query: an ErrorResponse of `fields`, or a reconnection when needed.
  PGresult* ErrorFor(const std::vector<std::pair<char, std::string>>& fields) {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) Connect();
    FUZZ_CHECK(PQsendQuery(conn_, "SELECT") == 1, PQerrorMessage(conn_));
    const std::string query = Read();
    FUZZ_CHECK(!query.empty() && query[0] == 'Q', query);
    std::string body;
    for (const auto& [type, value] : fields) {
      body.push_back(type);
      body.append(value.substr(0, value.find('\0')));
      body.push_back('\0');
    }
    body.push_back('\0');
    Write(Message('E', body) + Message('Z', "I"));
    PGresult* result = PQgetResult(conn_);
    FUZZ_CHECK(result != nullptr, PQerrorMessage(conn_));
    // ReadyForQuery ends the query: then there is no further result.
    for (int i = 0; i < 4; ++i) {
      PGresult* extra = PQgetResult(conn_);
      if (extra == nullptr) break;
      PQclear(extra);
    }
    return result;
  }

 private:
  sockaddr_un Address() const {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    // libpq's host "@name" means the abstract socket "\0name/.s.PGSQL.<port>".
    const std::string path = absl::StrCat(name_, "/.s.PGSQL.5432");
    FUZZ_CHECK(path.size() + 1 < sizeof(addr.sun_path), path);
    std::copy(path.begin(), path.end(), addr.sun_path + 1);
    return addr;
  }
  socklen_t AddressLength() const {
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_.size() +
                                  std::string_view("/.s.PGSQL.5432").size());
  }

  static std::string Message(char type, const std::string& body) {
    const uint32_t length = static_cast<uint32_t>(body.size() + 4);
    std::string out(1, type);
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(length >> shift));
    return out + body;
  }

  void ReadExactly(char* out, size_t n) {
    for (size_t got = 0; got < n;) {
      const ssize_t r = read(server_, out + got, n - got);
      FUZZ_CHECK(r > 0, "the client closed the fake server's socket");
      got += static_cast<size_t>(r);
    }
  }

  // One message from the client (`typed`: after the startup packet, which has no type byte).
  std::string Read(bool typed = true) {
    std::string head(typed ? 5 : 4, '\0');
    ReadExactly(head.data(), head.size());
    uint32_t length = 0;
    for (size_t i = typed ? 1 : 0; i < head.size(); ++i) {
      length = (length << 8) | static_cast<unsigned char>(head[i]);
    }
    FUZZ_CHECK(length >= 4 && length < 65536, "client message length");
    std::string body(length - 4, '\0');
    ReadExactly(body.data(), body.size());
    return head + body;
  }

  void Write(const std::string& bytes) {
    FUZZ_CHECK(write(server_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()),
               "write");
  }

  void Connect() {
    if (conn_ != nullptr) PQfinish(conn_);
    if (server_ >= 0) close(server_);
    const std::string conninfo = absl::StrCat("host=@", name_,
                                              " port=5432 user=fuzz dbname=fuzz sslmode=disable "
                                              "gssencmode=disable connect_timeout=5");
    conn_ = PQconnectStart(conninfo.c_str());
    FUZZ_CHECK(conn_ != nullptr && PQstatus(conn_) != CONNECTION_BAD, PQerrorMessage(conn_));
    server_ = accept(listener_, nullptr, nullptr);
    FUZZ_CHECK(server_ >= 0, "accept");
    bool answered = false;
    // A handful of steps: connect, send the startup packet, read the answer.
    for (int step = 0; step < 16; ++step) {
      const PostgresPollingStatusType state = PQconnectPoll(conn_);
      if (state == PGRES_POLLING_OK) return;
      FUZZ_CHECK(state != PGRES_POLLING_FAILED, PQerrorMessage(conn_));
      if (state == PGRES_POLLING_READING && !answered) {
        Read(/*typed=*/false);  // The startup packet.
        Write(Message('R', std::string(4, '\0')) + Message('Z', "I"));
        answered = true;
      }
    }
    Fail(__FILE__, __LINE__, "libpq connects to the fake server", PQerrorMessage(conn_));
  }

  std::string name_;
  int listener_ = -1;
  int server_ = -1;
  PGconn* conn_ = nullptr;
};

// What libpq hands back for the fields sent: the last of each type wins.
std::string Expected(const std::vector<std::pair<char, std::string>>& fields, char type) {
  std::string value;
  for (const auto& [t, v] : fields) {
    if (t == type) value = v.substr(0, v.find('\0'));
  }
  return value;
}

void CheckWire(const std::vector<std::pair<char, std::string>>& fields) {
  static FakeServer* server = new FakeServer();  // Lives as long as the fuzzer.
  PGresult* result = server->ErrorFor(fields);
  FUZZ_CHECK(PQresultStatus(result) == PGRES_FATAL_ERROR, PQresStatus(PQresultStatus(result)));
  const pg::ServerError error = pg::ServerErrorOf(result);
  PQclear(result);
  FUZZ_CHECK(error.sqlstate == Expected(fields, 'C'), error.sqlstate);
  FUZZ_CHECK(error.constraint == Expected(fields, 'n'), error.constraint);
  const std::string message = Expected(fields, 'M');
  if (!message.empty()) FUZZ_CHECK(error.message == message, error.message);
  CheckMapping(error);
}

}  // namespace
}  // namespace walletd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace walletd::fuzz;
  Input in(data, size);
  const uint8_t flags = in.Byte();
  walletd::pg::ServerError error;
  error.sqlstate = in.Field();
  error.constraint = in.Field();
  error.message = in.Field();
  if ((flags & 1) == 0) {
    CheckMapping(error);
    CheckMapping(walletd::pg::ServerErrorOf(nullptr));
    return 0;
  }
  std::vector<std::pair<char, std::string>> fields;
  if (flags & 2) fields.emplace_back('S', "ERROR");
  if (flags & 4) fields.emplace_back('C', error.sqlstate);
  if (flags & 8) fields.emplace_back('n', error.constraint);
  if (flags & 16) fields.emplace_back('M', error.message);
  // Extra fields of any type but 0, which ends the list.
  for (int i = 0; i < 8 && !in.empty(); ++i) {
    const char type = static_cast<char>(in.Byte());
    std::string value = in.Field();
    if (type != '\0') fields.emplace_back(type, std::move(value));
  }
  CheckWire(fields);
  return 0;
}
