// `recurrent explore`'s server: setup, the page, the runs' routes (contract in explore/explorer.h).
#include "explore/explorer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "explore/assets.h"
#include "explore/explorer_impl.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/train/checkpoint.h"
#include "serve/server_impl.h"

namespace recurrent::explore {

using nlohmann::json;
namespace fs = std::filesystem;

void reply_json(httplib::Response& res, const json& j, int status) {
  res.status = status;
  res.set_content(serve::dump(j) + "\n", kJson);
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, {{"error", message}}, status);
}

json object_body(const std::string& body, std::initializer_list<const char*> known) {
  json j = json::parse(body, nullptr, false);
  RC_CHECK(!j.is_discarded(), "body", "expected a JSON object, got malformed JSON");
  check_fields(j, "body", known);
  return j;
}

void check_fields(const json& j, const char* what, std::initializer_list<const char*> known) {
  RC_CHECK(j.is_object(), what, "expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    std::string names;
    for (const char* k : known) ok = ok || it.key() == k, names += std::string(names.empty() ? "" : ", ") + k;
    RC_CHECK(ok, what, "unknown field \"", it.key().substr(0, 40), "\" (expected: ", names, ")");
  }
}

void answer(httplib::Response& res, const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    reply_error(res, 400, e.what());
  } catch (const json::exception& e) {
    reply_error(res, 400, std::string("body: ") + e.what());
  }
}

void Explorer::Impl::note(const std::string& what) const {
  if (!opt.log) return;
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("[%8.1f ms] %s\n", ms, what.c_str());
  std::fflush(stdout);
}

std::optional<RunEntry> Explorer::Impl::run(const std::string& name, httplib::Response& res) {
  for (RunEntry& r : list_runs(opt.paths))
    if (r.name == name) return r;
  reply_error(res, 404, "no run called \"" + name.substr(0, 64) + "\"");
  return std::nullopt;
}

std::shared_ptr<tasks::LmModel> Explorer::Impl::model(const RunEntry& r) {
  RC_CHECK(r.model, r.dir, "this run holds no model file (best.safetensors or last.safetensors)");
  const std::string path = tasks::resolve_model_path(r.dir);
  std::error_code ec;
  const auto mtime = fs::last_write_time(path, ec);
  const std::string version = std::to_string(mtime.time_since_epoch().count()) + ":" + std::to_string(fs::file_size(path, ec));
  std::lock_guard<std::mutex> l(models_mu);
  auto it = models.find(path);
  if (it != models.end() && it->second.first == version) return it->second.second;
  std::shared_ptr<tasks::LmModel> m = tasks::open_lm(path);
  models[path] = {version, m};
  return m;
}

namespace {

const char* content_type(const std::string& name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "application/javascript; charset=utf-8";  // not compressed (kJson)
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

void reply_asset(httplib::Response& res, const std::string& name) {
  const Asset* a = find_asset(name);
  if (!a) return reply_error(res, 404, "no such file: " + name.substr(0, 64));
  res.set_header("Cache-Control", "no-cache");
  res.set_content(reinterpret_cast<const char*>(a->data), a->size, content_type(name));
}

json model_info(const std::string& path) {
  const json cfg = json::parse(train::read_checkpoint(path).config_json, nullptr, false);
  RC_CHECK(cfg.is_object(), path, "bad model configuration (recurrent.config is not a JSON object)");
  json layers = json::array();
  if (cfg.contains("layers") && cfg["layers"].is_array())
    for (const json& l : cfg["layers"]) layers.push_back(l);
  return {{"task", cfg.value("task", "lm")},
          {"arch", cfg.value("arch", "rnn")},
          {"level", cfg.value("level", "")},
          {"layers", layers},
          {"vocab_size", cfg.contains("vocab") && cfg["vocab"].is_array() ? cfg["vocab"].size() : 0}};
}

}  // namespace

void Explorer::Impl::add_run_routes() {
  http.Get("/", [](const httplib::Request&, httplib::Response& res) { reply_asset(res, "index.html"); });
  http.Get(R"(/assets/([A-Za-z0-9_.-]+))",
           [](const httplib::Request& req, httplib::Response& res) { reply_asset(res, req.matches[1]); });
  http.Get("/api/runs", [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    for (const RunEntry& r : list_runs(opt.paths))
      list.push_back({{"name", r.name}, {"metrics", r.metrics}, {"diagnostics", r.diagnostics}, {"model", r.model}});
    reply_json(res, {{"runs", list}});
  });
  http.Get(R"(/api/runs/([^/]+)/metrics)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto from = parse_count(req.get_param_value("from"), 0);
    if (!from) return reply_error(res, 400, "from: expected a non-negative integer");
    const auto r = run(req.matches[1], res);
    if (!r) return;
    if (!r->metrics) return reply_error(res, 409, "run \"" + r->name + "\" has no metrics.csv");
    answer(res, [&] { reply_json(res, read_metrics((fs::path(r->dir) / "metrics.csv").string(), *from)); });
  });
  http.Get(R"(/api/runs/([^/]+)/diagnostics)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto r = run(req.matches[1], res);
    if (!r) return;
    if (!r->diagnostics) return reply_error(res, 409, "run \"" + r->name + "\" has no diagnostics.jsonl (train with --diagnostics N) or dh.csv");
    const fs::path jsonl = fs::path(r->dir) / "diagnostics.jsonl";  // else the gradient lab's dh.csv
    answer(res, [&] {
      reply_json(res, fs::exists(jsonl) ? read_diagnostics(jsonl.string()) : read_gradlab_dh((fs::path(r->dir) / "dh.csv").string()));
    });
  });
  http.Get(R"(/api/runs/([^/]+)/model)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto r = run(req.matches[1], res);
    if (!r) return;
    if (!r->model) return reply_error(res, 409, "run \"" + r->name + "\" holds no model file");
    answer(res, [&] { reply_json(res, model_info(tasks::resolve_model_path(r->dir))); });
  });
  http.Get("/api/text", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> l(cells_mu);
    reply_json(res, {{"text", opt.text}, {"warm", warm}});
  });
}

Explorer::Explorer(ExploreOptions o) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.opt = std::move(o);
  RC_CHECK(!s.opt.paths.empty(), "RUN_DIR", "expected at least one run folder, model or folder of runs");
  for (const std::string& p : s.opt.paths) RC_CHECK(fs::exists(p), p, "no such file or folder");
  httplib::Server& h = s.http;
  const size_t threads = static_cast<size_t>(std::max(2, s.opt.http_threads));
  h.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  h.set_payload_max_length(1 << 20);
  h.set_read_timeout(10, 0);
  h.set_write_timeout(10, 0);
  h.set_tcp_nodelay(true);
  h.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own JSON error
    if (res.status == 404) reply_error(res, 404, "no such endpoint: " + req.method + " " + req.path.substr(0, 100));
    else if (res.status == 413) reply_error(res, 413, "body too large: at most 1048576 bytes");
    else reply_error(res, res.status, "HTTP " + std::to_string(res.status));
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
  if (s.opt.log) {  // a line when each request arrives (its body read) and when its answer is ready to send
    h.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response&) {
      s.note(req.method + " " + req.path + " received");
      return httplib::Server::HandlerResponse::Unhandled;
    });
    h.set_logger([&s](const httplib::Request& req, const httplib::Response& res) {
      s.note(req.method + " " + req.path + " answered " + std::to_string(res.status) + ", " + std::to_string(res.body.size()) + " bytes");
    });
  }
  s.add_run_routes();
  s.add_cells_routes();
  s.add_attention_routes();
}

Explorer::~Explorer() { stop(); }

int Explorer::bind() {
  Impl& s = *impl_;
  s.port = serve::bind_port(s.http, s.opt.host, s.opt.port);
  return s.port;
}

void Explorer::run() { impl_->http.listen_after_bind(); }

std::vector<std::string> Explorer::warm() {
  Impl& s = *impl_;
  std::vector<std::string> done;
  int64_t loaded = 0;  // the language models of the first kPreload runs holding one, loaded before any page asks
  for (const RunEntry& r : list_runs(s.opt.paths)) {
    if (!r.model || loaded >= kPreload) continue;
    try {
      s.note("loading the model of " + r.name);
      s.model(r);
      ++loaded;
      s.note("loaded; building its layer RNNs");
      s.char_lm(r);
      s.note("layer RNNs of " + r.name + " built");  // and a character RNN LM's layer RNNs (explore/activations.h)
    } catch (const Error&) {  // not a (character RNN) language model: its views load what they need when asked
    }
  }
  if (s.opt.text.empty()) return done;
  for (const RunEntry& r : list_runs(s.opt.paths)) {
    if (!r.model || static_cast<int64_t>(done.size()) >= s.opt.warm) continue;
    try {
      const Impl::CellSet c = s.read_cells(r, s.opt.text);
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.2f s", c.acts->seconds);
      done.push_back(r.name + ": " + secs);
      std::lock_guard<std::mutex> l(s.cells_mu);
      s.warm.push_back(r.name);
    } catch (const Error&) {  // not a character RNN LM: the Cells view refuses it when asked
    }
  }
  return done;
}

void Explorer::stop() { impl_->http.stop(); }

}  // namespace recurrent::explore
