// The whole-request deadline of the HTTP threads (contract in serve/watchdog.h).
#include "serve/watchdog.h"

#include <linux/tcp.h>  // struct tcp_info with tcpi_bytes_received (glibc's netinet/tcp.h lacks it)
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

namespace recurrent::serve {

namespace {

// Bytes the kernel has received on this TCP socket so far (read by the application or not);
// false when the socket does not say (not TCP, an old kernel).
bool bytes_received(int fd, uint64_t& out) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
  if (len < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received) return false;
  out = info.tcpi_bytes_received;
  return true;
}

std::string seconds_text(std::chrono::milliseconds d) {
  char b[32];
  std::snprintf(b, sizeof b, "%g s", static_cast<double>(d.count()) / 1000.0);
  return b;
}

}  // namespace

Watchdog::Watchdog(Options o) : o_(std::move(o)), thread_([this] { loop(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& [id, c] : conns_) ::close(c.fd);
}

uint64_t Watchdog::opened(int fd) {
  const int dup = ::dup(fd);
  if (dup < 0) return 0;
  Conn c;
  c.fd = dup;
  c.since = Clock::now();
  std::lock_guard<std::mutex> l(mu_);
  const uint64_t id = next_id_++;
  conns_.emplace(id, c);
  return id;
}

void Watchdog::taken(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  c.since = Clock::now();
  // Bytes that came while it was queued count as a request's first: the deadline runs from now.
  // Without the byte count the first byte cannot be seen either.
  const bool counted = bytes_received(c.fd, c.bytes_mark);
  c.state = counted && c.bytes_mark == 0 ? State::idle : State::reading;
}

bool Watchdog::request_read(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = conns_.find(id);
  if (it == conns_.end()) return true;
  if (it->second.state == State::cut) return false;
  it->second.state = State::handling;
  return true;
}

bool Watchdog::responded(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = conns_.find(id);
  if (it == conns_.end()) return true;
  if (it->second.state == State::cut) return false;
  Conn& c = it->second;
  c.since = Clock::now();
  c.state = bytes_received(c.fd, c.bytes_mark) ? State::idle : State::reading;
  return true;
}

void Watchdog::closed(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  ::close(it->second.fd);
  conns_.erase(it);
}

int64_t Watchdog::cut_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return cuts_;
}

void Watchdog::loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, o_.tick);
    if (stop_) break;
    const Clock::time_point now = Clock::now();
    size_t held = 0;
    for (auto& [id, c] : conns_) held += c.state != State::queued;
    const bool busy = held >= o_.threads;  // every HTTP thread holds a connection
    for (auto& [id, c] : conns_) check(c, now, busy);
  }
}

void Watchdog::check(Conn& c, Clock::time_point now, bool busy) {
  if (c.state == State::queued) return;
  if (c.state == State::idle) {
    uint64_t n = 0;
    if (bytes_received(c.fd, n) && n > c.bytes_mark) {
      c.state = State::reading, c.since = now;  // the next request's first byte
    } else if (busy && now - c.since > o_.busy_grace) {
      ::shutdown(c.fd, SHUT_RDWR);  // a kept-alive connection with nothing to say frees its thread
      c.state = State::cut;
    }
    return;
  }
  if (c.state != State::reading) return;
  if (now - c.since > o_.deadline)
    cut(c, "request timeout: the request did not arrive whole within " + seconds_text(o_.deadline) + " (--read-timeout)", now);
  else if (busy && now - c.since > o_.busy_grace)
    cut(c, "request timeout: every HTTP thread is taken and the request did not arrive whole within " +
               seconds_text(o_.busy_grace), now);
}

void Watchdog::cut(Conn& c, const std::string& reason, Clock::time_point now) {
  const std::string body = "{\"error\": \"" + reason + "\"}\n";
  const std::string reply = "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  // The HTTP thread only reads this socket until request_read(), which waits for our lock: no interleaving.
  (void)::send(c.fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(c.fd, SHUT_RDWR);  // its recv returns 0: the thread lets go
  c.state = State::cut;
  ++cuts_;
  if (o_.on_cut) o_.on_cut(std::chrono::duration<double>(now - c.since).count());
}

}  // namespace recurrent::serve
