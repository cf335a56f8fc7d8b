// `recurrent serve`'s HTTP server: models, keys, limits, health/models/metrics, shutdown
// (contract in serve/server.h; the LM routes in routes_lm.cpp).
#include "serve/server.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "recurrent/core/error.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/train/checkpoint.h"
#include "serve/server_impl.h"

namespace recurrent::serve {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void reply_json(httplib::Response& res, const json& j, int status) {
  res.status = status;
  res.set_content(dump(j) + "\n", "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, {{"error", message}}, status);
}

void reply_busy(httplib::Response& res, const LmEngine& e) {
  res.set_header("Connection", "close");  // frees the HTTP thread for the clients that can be served
  if (!e.accepting()) return reply_error(res, 503, "the server is shutting down");
  res.set_header("Retry-After", "1");
  reply_error(res, 429, "too many requests: the batch and its queue are full; retry after 1 s");
}

void reply_busy(httplib::Response& res, bool accepting) {
  res.set_header("Connection", "close");
  if (!accepting) return reply_error(res, 503, "the server is shutting down");
  res.set_header("Retry-After", "1");
  reply_error(res, 429, "too many requests: the model's queue is full; retry after 1 s");
}

std::vector<std::string> read_api_keys(const std::string& path) {
  std::ifstream f(path);
  RC_CHECK(f, path, "cannot read the API key file");
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(f, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    keys.push_back(line);
  }
  RC_CHECK(!keys.empty(), path, "no API key in this file (one a line)");
  return keys;
}

bool key_matches(const std::string& given, const std::vector<std::string>& keys) {
  unsigned found = 0;
  for (const std::string& k : keys) {
    // Compare every byte of k against `given` (cycled), so the time depends on the keys' lengths only.
    unsigned diff = static_cast<unsigned>(k.size() ^ given.size());
    for (size_t i = 0; i < k.size(); ++i)
      diff |= static_cast<unsigned char>(k[i]) ^ static_cast<unsigned char>(given.empty() ? 0 : given[i % given.size()]);
    found |= static_cast<unsigned>(diff == 0);
  }
  return found != 0;
}

namespace {

std::string model_task(const std::string& path) {
  const std::string cfg = train::read_checkpoint(path).config_json;
  json j = json::parse(cfg, nullptr, false);
  RC_CHECK(!j.is_discarded() && j.is_object(), path, "bad model configuration (recurrent.config is not a JSON object)");
  return j.value("task", "lm");
}

// The key of a request: "Authorization: Bearer KEY" or "X-API-Key: KEY".
std::string request_key(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) return auth.substr(7);
  return req.get_header_value("X-API-Key");
}

// Set when a request has been read (pre-routing); the logger runs on the same HTTP thread.
thread_local Clock::time_point request_start;

// Metrics labels: the routes, not every path a client tries.
std::string endpoint_label(const std::string& path) {
  for (const char* p : {"/health", "/metrics", "/v1/models", "/v1/score", "/v1/generate", "/v1/classify", "/v1/tag",
                        "/v1/translate", "/v1/forecast", "/v1/transcribe"})
    if (path == p) return p;
  if (path.rfind("/v1/sessions", 0) == 0) return "/v1/sessions";
  if (path.rfind("/v1/transcribe/sessions", 0) == 0) return "/v1/transcribe/sessions";
  return "other";
}

}  // namespace

namespace {
// 400 when `want` is served but is of another kind, else 404; names every model served.
void reply_no_model(const std::map<std::string, std::string>& tasks, const std::string& want, const char* kind,
                    httplib::Response& res) {
  std::string names;
  for (auto& [n, t] : tasks) names += (names.empty() ? "" : ", ") + n + " (" + t + ")";
  if (want.empty()) return reply_error(res, 404, std::string("none of the models is ") + kind + "; served: " + names);
  if (tasks.count(want)) return reply_error(res, 400, "model \"" + want + "\" is not " + kind + "; served: " + names);
  reply_error(res, 404, "unknown model \"" + (want.size() > 64 ? want.substr(0, 64) + "..." : want) + "\"; served: " + names);
}
}  // namespace

LmEngine* Server::Impl::lm(const std::string& name, httplib::Response& res) {
  const std::string want = name.empty() && !lms.empty() ? lms[0]->name() : name;
  for (auto& e : lms)
    if (e->name() == want) return e.get();
  reply_no_model(tasks, want, "a language model", res);
  return nullptr;
}

TaskEngine* Server::Impl::other(const std::string& name, const std::string& task, httplib::Response& res) {
  for (auto& e : others)
    if (e->task() == task && (name.empty() || e->name() == name)) return e.get();
  const char* kind = task == "classify" ? "a classifier"
                     : task == "tag"    ? "a tagger"
                     : task == "forecast" ? "a forecaster"
                                          : "an encoder-decoder";
  reply_no_model(tasks, name, kind, res);
  return nullptr;
}

SpeechEngine* Server::Impl::speech_model(const std::string& name, httplib::Response& res) {
  for (auto& e : speech)
    if (name.empty() || e->name() == name) return e.get();
  reply_no_model(tasks, name, "a speech model", res);
  return nullptr;
}

Server::Server(ServeOptions o) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.opt = std::move(o);
  RC_CHECK(!s.opt.models.empty(), "--model", "expected at least one model");
  for (auto& [name, dir] : s.opt.models) {
    RC_CHECK(!s.tasks.count(name), "--model", "the name \"", name, "\" is given twice (use NAME=DIR)");
    const std::string path = tasks::resolve_model_path(dir);
    const std::string task = model_task(path);
    s.tasks[name] = task;
    ModelMetrics& mm = s.metrics.model(name, task);
    if (task == "lm") s.lms.push_back(std::make_unique<LmEngine>(name, tasks::open_lm(path), s.opt.engine, mm));
    else if (task == "asr") s.speech.push_back(std::make_unique<SpeechEngine>(name, path, s.opt.engine, mm));
    else s.others.push_back(std::make_unique<TaskEngine>(name, task, path, s.opt.engine, mm));
  }
  HttpServer& h = s.http;
  const int threads = s.opt.http_threads > 0
                          ? s.opt.http_threads
                          : static_cast<int>(s.opt.engine.max_batch + s.opt.engine.max_queue + 8);
  h.set_payload_max_length(s.opt.request.max_body);
  // The whole request within --read-timeout of its first byte (408 after); each recv's own timeout
  // is a second longer, so the watchdog answers first.
  Watchdog::Options dog;
  dog.deadline = s.opt.read_timeout;
  dog.busy_grace = std::min(s.opt.read_timeout, std::chrono::milliseconds(1000));
  dog.threads = static_cast<size_t>(threads);
  dog.on_cut = [&s](double sec) { s.metrics.request("other", 408, sec); };
  h.guard(std::move(dog));  // and the pool of `threads` HTTP threads
  const auto rt = s.opt.read_timeout + std::chrono::seconds(1);
  h.set_read_timeout(rt.count() / 1000, (rt.count() % 1000) * 1000);
  h.set_write_timeout(5, 0);
  h.set_tcp_nodelay(true);  // each event and reply goes out at once (Nagle + delayed ACK held them ~40 ms)
  h.set_keep_alive_timeout(2);
  h.set_keep_alive_max_count(1000);
  h.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    request_start = Clock::now();
    const auto refuse = [&](int status, const std::string& why) {
      if (!s.http.request_read()) return httplib::Server::HandlerResponse::Handled;  // cut: its 408 is out
      res.set_header("Connection", "close");  // the body is not read
      reply_error(res, status, why);
      return httplib::Server::HandlerResponse::Handled;
    };
    // Refused from its Content-Length, before a byte of the body is read.
    if (req.has_header("Content-Length") &&
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > s.opt.request.max_body)
      return refuse(413, "body too large: at most " + std::to_string(s.opt.request.max_body) + " bytes");
    if (req.path == "/health" || s.opt.api_keys.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (key_matches(request_key(req), s.opt.api_keys)) return httplib::Server::HandlerResponse::Unhandled;
    return refuse(401, "unauthorized");
  });
  h.set_error_handler([&s, max_body = s.opt.request.max_body](const httplib::Request& req, httplib::Response& res) {
    s.http.request_read();  // answered without a route (404, 413, malformed HTTP): no deadline while written
    if (!res.body.empty()) return;  // a handler's own JSON error
    if (res.status == 404) reply_error(res, 404, "no such endpoint: " + req.method + " " + req.path.substr(0, 100));
    else if (res.status == 413) reply_error(res, 413, "body too large: at most " + std::to_string(max_body) + " bytes");
    else reply_error(res, res.status, "HTTP " + std::to_string(res.status) + (res.status == 400 ? ": bad request (malformed HTTP, or the client was too slow)" : ""));
  });
  h.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      reply_error(res, 500, std::string("internal error: ") + e.what());
    } catch (...) {
      reply_error(res, 500, "internal error");
    }
  });
  h.set_logger([&s](const httplib::Request& req, const httplib::Response& res) {  // after the whole response
    if (!s.http.responded()) return;  // cut by the watchdog, which counted its 408
    const double sec = std::chrono::duration<double>(Clock::now() - request_start).count();
    s.metrics.request(endpoint_label(req.path), res.status, sec);
  });
  h.Get("/health", [&s](const httplib::Request&, httplib::Response& res) {
    reply_json(res, {{"status", s.stopping ? "stopping" : "ok"}}, s.stopping ? 503 : 200);
  });
  h.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    res.set_content(s.metrics.prometheus(), "text/plain; version=0.0.4");
  });
  h.Get("/v1/models", [&s](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    for (auto& e : s.lms) {
      tasks::LmModel& m = e->model();
      list.push_back({{"name", e->name()},
                      {"task", "lm"},
                      {"summary", m.summary()},
                      {"vocab_size", m.vocab_size()},
                      {"level", m.vocab().level() == data::TokenLevel::words ? "word" : "char"},
                      {"batched", dynamic_cast<tasks::LanguageModel*>(&m) != nullptr},
                      {"endpoints", {"/v1/score", "/v1/generate", "/v1/sessions"}}});
    }
    for (auto& e : s.others) {
      json d = {{"name", e->name()}, {"task", e->task()}, {"endpoints", {e->endpoint()}}};
      d.update(e->description());
      list.push_back(d);
    }
    for (auto& e : s.speech) {
      json d = {{"name", e->name()}, {"task", "asr"}, {"endpoints", {"/v1/transcribe", "/v1/transcribe/sessions"}}};
      d.update(e->description());
      list.push_back(d);
    }
    reply_json(res, {{"models", list}});
  });
  s.add_lm_routes();
  s.add_session_routes();
  s.add_task_routes();
  s.add_speech_routes();
}

Server::~Server() { stop(); }

int bind_port(httplib::Server& http, const std::string& host, int port) {
  const int got = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  RC_CHECK(got > 0, "--port", "cannot listen on ", host, ":", port, " (in use, or not an address here)");
  return got;
}

int Server::bind() {
  Impl& s = *impl_;
  s.port = bind_port(s.http, s.opt.host, s.opt.port);
  return s.port;
}

void Server::run() { impl_->http.listen_after_bind(); }

void Server::stop() {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> l(s.stop_mu);
  if (s.stopping.exchange(true)) return;
  for (auto& e : s.lms) e->shutdown(s.opt.grace);
  for (auto& e : s.others) e->shutdown();
  for (auto& e : s.speech) e->shutdown();
  // Streams end with their last event (finish_reason "shutdown") before the HTTP side stops, which
  // would cut them; new requests meanwhile get 503. Bounded: grace + 1 s.
  const Clock::time_point until = Clock::now() + s.opt.grace + std::chrono::seconds(1);
  auto busy = [&s] {
    for (auto& e : s.lms)
      if (!e->idle()) return true;
    return false;
  };
  while (busy() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the HTTP threads write the last events
  s.http.stop();
}

}  // namespace recurrent::serve
