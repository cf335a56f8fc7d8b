// serve/server.h — `recurrent serve`: the HTTP/1.1 JSON API over the models (docs/serve.md).
//
//   GET  /health                    {"status": "ok"} (no key needed)
//   GET  /v1/models                 the models served, their kind and endpoints
//   GET  /metrics                   Prometheus text (serve/metrics.h)
//   POST /v1/score                  {"text"} → log P(text) and every token's probability
//   POST /v1/generate               {"prime", "length", "temperature", "top_k", "top_p", "seed", "beam",
//                                    "stop", "stream"} → text, or server-sent events token by token
//   POST /v1/sessions               {"model"} → {"session": ID}
//   POST /v1/sessions/ID/score      {"text"}: the next piece, scored given every piece before it
//   POST /v1/sessions/ID/generate   generate's fields but model/prime/beam: goes on from the session's state
//   DELETE /v1/sessions/ID
//   POST /v1/classify, /v1/tag, /v1/translate   {"text"} (translate: "beam") — serve/task_engine.h
//   POST /v1/forecast               {"history", "horizon"} — serve/task_engine.h
//   POST /v1/transcribe, /v1/transcribe/sessions[/ID/audio|/ID/finish]   audio — serve/speech_engine.h
// Every request body is parsed by serve/request.h's parse_request; every refusal is a JSON
// {"error": "one line"} with its 4xx (401 without detail; 429 with Retry-After).
// The HTTP library is Debian's cpp-httplib; one engine thread per model does all model work
// (serve/lm_engine.h, serve/task_engine.h); the HTTP threads only parse, wait and write.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "serve/lm_engine.h"
#include "serve/request.h"

namespace recurrent::serve {

struct ServeOptions {
  std::vector<std::pair<std::string, std::string>> models;  // (name, path); the first is the default
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port (port() tells which)
  RequestLimits request;
  EngineLimits engine;
  std::vector<std::string> api_keys;  // empty: no keys asked
  std::chrono::milliseconds read_timeout{10000};  // a request's first byte → whole, else 408 (serve/watchdog.h)
  std::chrono::milliseconds grace{2000};          // SIGTERM: in-flight work may run this long
  int http_threads = 0;                            // 0: max_batch + max_queue + 8
};

// One line per key (blank lines and lines starting with '#' skipped); Error(path, ...) when none.
std::vector<std::string> read_api_keys(const std::string& path);
// Constant-time in the key's content: every byte of every key is compared.
bool key_matches(const std::string& given, const std::vector<std::string>& keys);

class Server {
 public:
  explicit Server(ServeOptions o);  // loads every model (Error naming the one that fails)
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int bind();  // binds host:port, returns the port; Error("--port", ...) when it cannot
  void run();  // serves until stop(); returns when every request has finished
  // Graceful: refuses new work (503), lets in-flight generations run up to `grace`, then ends them;
  // run() returns once the HTTP threads are done. Safe from any thread, more than once.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace recurrent::serve
