// serve/server_impl.h — what the route files share: the server's state and the reply helpers.
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "serve/lm_engine.h"
#include "serve/metrics.h"
#include "serve/server.h"
#include "serve/task_engine.h"

namespace recurrent::serve {

struct Server::Impl {
  ServeOptions opt;
  Metrics metrics;
  std::vector<std::unique_ptr<LmEngine>> lms;  // in the order given
  std::vector<std::unique_ptr<TaskEngine>> others;  // classifiers, taggers, encoder-decoders
  std::map<std::string, std::string> tasks;   // model name → its task ("lm", ...)
  httplib::Server http;
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;  // stop() runs whole before the server is destroyed
  int port = -1;

  // The language model `name` names ("" → the default); nullptr with `res` answered when there is none.
  LmEngine* lm(const std::string& name, httplib::Response& res);
  // The model of `task` that `name` names ("" → the first of that task); nullptr with `res` answered.
  TaskEngine* other(const std::string& name, const std::string& task, httplib::Response& res);
  void add_lm_routes();  // routes_lm.cpp
  void add_task_routes();  // routes_tasks.cpp
  void add_session_routes();
};

// JSON text that never throws on odd bytes (replaced by U+FFFD).
std::string dump(const nlohmann::json& j);
void reply_error(httplib::Response& res, int status, const std::string& message);
void reply_json(httplib::Response& res, const nlohmann::json& j, int status = 200);
// 429 with Retry-After when the engine still accepts work, else 503 (shutting down).
void reply_busy(httplib::Response& res, const LmEngine& e);

}  // namespace recurrent::serve
