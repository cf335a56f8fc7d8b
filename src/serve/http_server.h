// serve/http_server.h — cpp-httplib's server with the whole-request deadline of serve/watchdog.h.
//
// guard() gives the server its pool of HTTP threads (`threads`) and a watchdog: every connection
// accepted is registered with it (the accepted socket is seen through this file's accept(), which
// records it for the listening thread and passes on to the C library, see http_server.cpp), taken
// when an HTTP thread starts on it and released when the thread lets go. The routes added through
// Get/Post/Delete here mark their request whole before the handler runs; the server's pre-routing,
// error and logger hooks call request_read()/responded() for requests answered without a route
// (401, 413, 404, malformed HTTP). Without guard() it is a plain httplib::Server.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>

#include "serve/watchdog.h"

namespace recurrent::serve {

class HttpServer : public httplib::Server {
 public:
  void guard(Watchdog::Options o);
  // On the HTTP thread of the current request. request_read(): the request is whole — false when the
  // watchdog cut it first (its 408 is sent; do not answer). responded(): the response is written —
  // false when the watchdog had cut it.
  bool request_read();
  bool responded();
  int64_t cuts() const { return dog_ ? dog_->cut_count() : 0; }

  HttpServer& Get(const std::string& pattern, Handler h);
  HttpServer& Post(const std::string& pattern, Handler h);
  HttpServer& Delete(const std::string& pattern, Handler h);

 private:
  Handler guarded(Handler h);
  std::shared_ptr<Watchdog> dog_;
};

}  // namespace recurrent::serve
