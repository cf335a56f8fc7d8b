// serve/watchdog.h — a whole-request deadline for the HTTP threads (slow clients, "slowloris").
//
// cpp-httplib bounds each recv (its read timeout), not a request: a client that sends one byte just
// before every timeout keeps an HTTP thread as long as the header limit allows. The watchdog watches
// every connection an HTTP thread holds and, on one thread of its own, cuts those whose request has
// not arrived whole in time: it writes a 408 with a one-line JSON reason and shuts the socket down,
// so the HTTP thread's next recv fails and the thread is free.
//
//   queued    accepted, waiting for a free HTTP thread (its client is not slow: the server is busy). Not cut.
//   idle      held by an HTTP thread, no byte since it was taken or since its last response (a kept-alive
//             client between requests). Not cut, except when every HTTP thread is taken (then closed
//             after `busy_grace`, without a 408: the client may not have sent anything yet).
//   reading   the first byte of a request has arrived (TCP_INFO's bytes received moved): the whole
//             request must arrive within `deadline` of that moment (`busy_grace` when every HTTP
//             thread is taken), else 408 and closed.
//   handling  the request is whole and its handler runs (a generation may stream for minutes): no deadline.
//
// Calls: opened(fd) when the connection is accepted (the watchdog keeps a dup of the fd, so it never
// touches a descriptor number that has been reused), then from its HTTP thread taken(id),
// request_read(id) when the request is whole, responded(id) after the response, closed(id) when the
// thread lets go. The watchdog looks every `tick`.
// No HTTP library here: sockets only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace recurrent::serve {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds deadline{10000};    // a request's first byte → the request whole
    std::chrono::milliseconds busy_grace{1000};   // the same when every HTTP thread is taken
    size_t threads = 1;                           // the HTTP threads
    std::chrono::milliseconds tick{50};
    std::function<void(double seconds)> on_cut;   // a 408 was sent (the request's age); may be empty
  };
  explicit Watchdog(Options o);
  ~Watchdog();  // stops the thread; connections still open are left to their HTTP threads
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  uint64_t opened(int fd);         // 0 when the fd could not be watched (dup failed)
  void taken(uint64_t id);
  // False when the watchdog has already cut this connection (its reply is sent; do not handle it).
  bool request_read(uint64_t id);
  bool responded(uint64_t id);     // false when it had been cut
  void closed(uint64_t id);
  int64_t cut_count() const;       // 408s sent

 private:
  enum class State { queued, idle, reading, handling, cut };
  struct Conn {
    int fd = -1;                   // our dup
    State state = State::queued;
    Clock::time_point since;       // of the state (reading: the first byte seen)
    uint64_t bytes_mark = 0;       // bytes received when the connection went idle
  };
  void loop();
  void check(Conn& c, Clock::time_point now, bool busy);
  void cut(Conn& c, const std::string& reason, Clock::time_point now);

  Options o_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Conn> conns_;
  uint64_t next_id_ = 1;
  int64_t cuts_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace recurrent::serve
