// cpp-httplib's server under the watchdog (contract in serve/http_server.h).
#include "serve/http_server.h"

#include <sys/socket.h>

namespace recurrent::serve {

namespace {
thread_local int last_accepted = -1;     // on the listening thread: the socket accept() just gave
thread_local uint64_t current_conn = 0;  // on an HTTP thread: the watchdog's id of its connection
}  // namespace

}  // namespace recurrent::serve

// cpp-httplib (0.11) accepts a connection with accept() and hands it to its task queue's enqueue()
// at once, on the same thread, with no hook in between that sees the socket; this definition takes
// the C library's place for the process (the same call, accept4 with no flags) and records the socket
// for that enqueue() (GuardedQueue below). Any other caller of accept() is unaffected.
extern "C" int accept(int fd, sockaddr* __restrict addr, socklen_t* __restrict len) {
  const int s = ::accept4(fd, addr, len, 0);
  recurrent::serve::last_accepted = s;
  return s;
}

namespace recurrent::serve {

namespace {

// The HTTP threads: cpp-httplib's ThreadPool, each job bracketed by the watchdog.
class GuardedQueue : public httplib::TaskQueue {
 public:
  GuardedQueue(size_t threads, std::shared_ptr<Watchdog> dog) : pool_(threads), dog_(std::move(dog)) {}
  void enqueue(std::function<void()> fn) override {
    const int fd = last_accepted;  // the connection this job serves (the listening thread, just accepted)
    last_accepted = -1;
    const uint64_t id = fd >= 0 ? dog_->opened(fd) : 0;
    pool_.enqueue([dog = dog_, id, fn = std::move(fn)] {
      if (id) dog->taken(id);
      current_conn = id;
      fn();  // cpp-httplib serves the connection, then shuts and closes its socket
      current_conn = 0;
      if (id) dog->closed(id);
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  std::shared_ptr<Watchdog> dog_;
};

}  // namespace

void HttpServer::guard(Watchdog::Options o) {
  const size_t threads = o.threads;
  dog_ = std::make_shared<Watchdog>(std::move(o));
  new_task_queue = [threads, dog = dog_] { return new GuardedQueue(threads, dog); };
}

bool HttpServer::request_read() { return !dog_ || current_conn == 0 || dog_->request_read(current_conn); }

bool HttpServer::responded() { return !dog_ || current_conn == 0 || dog_->responded(current_conn); }

httplib::Server::Handler HttpServer::guarded(Handler h) {
  return [this, h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    if (!request_read()) {
      res.set_header("Connection", "close");
      return;  // cut by the watchdog: its 408 went out
    }
    h(req, res);
  };
}

HttpServer& HttpServer::Get(const std::string& pattern, Handler h) {
  httplib::Server::Get(pattern, guarded(std::move(h)));
  return *this;
}
HttpServer& HttpServer::Post(const std::string& pattern, Handler h) {
  httplib::Server::Post(pattern, guarded(std::move(h)));
  return *this;
}
HttpServer& HttpServer::Delete(const std::string& pattern, Handler h) {
  httplib::Server::Delete(pattern, guarded(std::move(h)));
  return *this;
}

}  // namespace recurrent::serve
