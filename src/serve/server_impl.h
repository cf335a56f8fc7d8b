// serve/server_impl.h — what the route files share: the server's state and the reply helpers.
#pragma once

#include <httplib.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recurrent/core/error.h"
#include "serve/http_server.h"
#include "serve/lm_engine.h"
#include "serve/metrics.h"
#include "serve/server.h"
#include "serve/speech_engine.h"
#include "serve/task_engine.h"

namespace recurrent::serve {

struct Server::Impl {
  ServeOptions opt;
  Metrics metrics;
  std::vector<std::unique_ptr<LmEngine>> lms;  // in the order given
  std::vector<std::unique_ptr<TaskEngine>> others;  // classifiers, taggers, encoder-decoders, forecasters
  std::vector<std::unique_ptr<SpeechEngine>> speech;
  std::map<std::string, std::string> tasks;   // model name → its task ("lm", ...)
  HttpServer http;  // cpp-httplib with the whole-request deadline (serve/watchdog.h)
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;  // stop() runs whole before the server is destroyed
  int port = -1;

  // The language model `name` names ("" → the default); nullptr with `res` answered when there is none.
  LmEngine* lm(const std::string& name, httplib::Response& res);
  // The model of `task` that `name` names ("" → the first of that task); nullptr with `res` answered.
  TaskEngine* other(const std::string& name, const std::string& task, httplib::Response& res);
  void add_lm_routes();  // routes_lm.cpp
  // Runs a generate request on `e` and answers it (JSON, or server-sent events when r.stream).
  void generate(LmEngine& e, const GenerateRequest& r, httplib::Response& res);
  // The speech model `name` names ("" → the first); nullptr with `res` answered.
  SpeechEngine* speech_model(const std::string& name, httplib::Response& res);
  void add_task_routes();  // routes_tasks.cpp
  void add_speech_routes();  // routes_speech.cpp
  void add_session_routes();
};

// JSON text that never throws on odd bytes (replaced by U+FFFD).
std::string dump(const nlohmann::json& j);
void reply_error(httplib::Response& res, int status, const std::string& message);
void reply_json(httplib::Response& res, const nlohmann::json& j, int status = 200);
// Binds `http` to host:port (0: any free port) and returns the port; an Error naming --port if it cannot.
// Shared by serve and explore.
int bind_port(httplib::Server& http, const std::string& host, int port);
// 429 with Retry-After when the engine still accepts work, else 503 (shutting down).
void reply_busy(httplib::Response& res, const LmEngine& e);
// The same for the worker-thread engines (TaskEngine, SpeechEngine).
void reply_busy(httplib::Response& res, bool accepting);

// The parsed request of type T, or nullptr with the error already replied.
template <class T>
const T* parsed(const ParsedRequest& p, httplib::Response& res) {
  if (const ApiError* e = std::get_if<ApiError>(&p)) {
    reply_error(res, e->status, e->message);
    return nullptr;
  }
  return std::get_if<T>(&p);
}

// Waits for an engine result within the request timeout; replies and returns false on failure.
template <class R>
bool await(std::future<R>& f, Clock::duration timeout, R& out, httplib::Response& res) {
  if (f.wait_for(timeout) != std::future_status::ready) {
    reply_error(res, 504, "the request timed out in the engine's queue");
    return false;
  }
  try {
    out = f.get();
    return true;
  } catch (const Error& e) {
    reply_error(res, 400, e.what());
  } catch (const std::future_error&) {
    reply_error(res, 503, "the server is shutting down");
  } catch (const std::exception& e) {
    reply_error(res, 500, std::string("internal error: ") + e.what());
  }
  return false;
}


}  // namespace recurrent::serve
