// A slow HTTP client for the serve tests: it connects, sends the start of a request at once, then
// one more byte every `every` (never, when zero), and reads whatever comes back until the server
// closes the connection or `limit` passes. Plain sockets, so it can be as slow as a test needs.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace recurrent::testing {

struct SlowReply {
  std::string got;       // the bytes the server sent back ("" when it only closed)
  double seconds = 0;    // from the first byte sent to the close (or `limit`)
  bool closed = false;   // the server closed the connection
};

// Connects and sends `start`; the socket, or -1.
inline int slow_connect(int port, const std::string& start) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  (void)::send(fd, start.data(), start.size(), MSG_NOSIGNAL);
  return fd;
}

// Then one byte every `every` (never, when zero) until the server answers or closes; closes fd.
inline SlowReply slow_trickle(int fd, std::chrono::milliseconds every,
                              std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  using Clock = std::chrono::steady_clock;
  SlowReply r;
  if (fd < 0) return r;
  const auto t0 = Clock::now();
  auto next = t0 + every;
  char buf[4096];
  while (Clock::now() - t0 < limit) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        r.closed = true;
        break;
      }
      r.got.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (every.count() > 0 && r.got.empty() && Clock::now() >= next) {
      (void)::send(fd, "x", 1, MSG_NOSIGNAL);  // one more byte of a header that never ends
      next += every;
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ::close(fd);
  return r;
}

inline SlowReply slow_request(int port, const std::string& start, std::chrono::milliseconds every,
                              std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  return slow_trickle(slow_connect(port, start), every, limit);
}

// The start of a request whose headers never end ("X-Slow: xxxx…" one byte at a time).
inline std::string trickled_headers(const std::string& key_header = "") {
  return "POST /v1/score HTTP/1.1\r\nHost: x\r\n" + key_header + "Content-Type: application/json\r\nX-Slow: ";
}

}  // namespace recurrent::testing
