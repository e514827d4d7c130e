#pragma once
// A plain HTTP/1.0 GET over a loopback socket, for tests that read /metrics or Prometheus' API:
// no client library needed for one request and one reply, and every wait is bounded.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace walletd::testing {

struct HttpReply {
  int status = 0;
  std::string body;
};

// GET `target` (path and query, already escaped) from `address` (ipv4:port) before `timeout`;
// nullopt when no complete reply came.
inline std::optional<HttpReply> HttpGet(const std::string& address, const std::string& target,
                                        absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1)));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) return std::nullopt;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  // Loopback connects at once or is refused; no wait to bound here.
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) return std::nullopt;
  const std::string request =
      "GET " + target + " HTTP/1.0\r\nHost: " + address + "\r\nConnection: close\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return std::nullopt;
  }
  std::string reply;
  char buf[16384];
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) return std::nullopt;
    if (n == 0) break;  // The server closes after its reply.
    reply.append(buf, static_cast<size_t>(n));
  }
  const size_t head_end = reply.find("\r\n\r\n");
  if (reply.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos) return std::nullopt;
  HttpReply result;
  result.status = std::atoi(reply.c_str() + reply.find(' ') + 1);
  result.body = reply.substr(head_end + 4);
  return result;
}

}  // namespace walletd::testing
