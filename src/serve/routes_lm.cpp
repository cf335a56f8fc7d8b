// The language-model routes: score, generate (JSON or server-sent events), sessions (contract in
// serve/server.h). Each handler: parse the body (serve/request.h), find the model, hand the work to
// its engine, wait within the request timeout, reply.
#include <cmath>
#include <future>

#include "recurrent/core/error.h"
#include "serve/server_impl.h"

namespace recurrent::serve {

using nlohmann::json;

namespace {

json score_json(const tasks::TextScore& s) {
  json toks = json::array();
  for (auto& t : s.tokens) toks.push_back({{"token", t.token}, {"prob", t.prob}, {"unk", t.unk}});
  return {{"log_prob", s.log_prob}, {"log2_prob", s.log_prob / std::log(2.0)}, {"tokens", toks}};
}

json final_json(const Generation& g) {
  json j = {{"text", g.text()}, {"finish_reason", g.finish_reason()}, {"prime", g.req.sample.prime}};
  if (!g.error().empty()) j["error"] = g.error();
  return j;
}

int final_status(const Generation& g) {
  const std::string r = g.finish_reason();
  if (r == "timeout") return 504;
  if (r == "shutdown") return 503;
  if (r == "error") return 400;  // the engine refused the request (e.g. an unusable prime)
  return 200;
}

void stream_generation(std::shared_ptr<Generation> g, httplib::Response& res, Metrics& metrics) {
  res.set_header("Cache-Control", "no-cache");
  // The provider's buffers live as long as the stream: a hand-over swaps them, so nothing is
  // allocated per token. One event per token; every token handed over goes out in one write.
  struct Buffers {
    std::string text, events;
    std::vector<size_t> ends;
    bool first = true;
  };
  res.set_chunked_content_provider(
      "text/event-stream",
      [g, &metrics, b = std::make_shared<Buffers>()](size_t, httplib::DataSink& sink) {
        for (int i = 0; i < 50; ++i) {  // ≤ 5 s per call; the provider is called again while it returns true
          b->events.clear();
          if (g->take(b->text, b->ends, std::chrono::milliseconds(100))) {
            if (b->first) metrics.first_token(g->first_token_seconds()), b->first = false;
            size_t from = 0;
            for (size_t end : b->ends) append_token_event(b->events, b->text, from, end), from = end;
          }
          const bool last = g->finished();  // the final event goes with the last tokens
          if (last) b->events += "data: " + dump(final_json(*g)) + "\n\n";
          if (!b->events.empty()) {
            if (!sink.write(b->events.data(), b->events.size())) return g->cancel(), false;
            if (last) sink.done();
            return true;
          }
          if (!sink.is_writable()) return g->cancel(), false;
        }
        return true;
      },
      [g](bool) { g->cancel(); });  // a no-op once finished; a client gone mid-stream frees its row
}

}  // namespace

void Server::Impl::add_lm_routes() {
  http.Post("/v1/score", [this](const httplib::Request& req, httplib::Response& res) {
    const ParsedRequest p = parse_request(RequestKind::score, req.body, opt.request);
    const ScoreRequest* r = parsed<ScoreRequest>(p, res);
    if (!r) return;
    LmEngine* e = lm(r->model, res);
    if (!e) return;
    std::future<tasks::TextScore> f = e->try_score(r->text);
    if (!f.valid()) return reply_busy(res, *e);
    tasks::TextScore s;
    if (!await(f, opt.engine.timeout, s, res)) return;
    json j = score_json(s);
    j["model"] = e->name();
    reply_json(res, j);
  });
  http.Post("/v1/generate", [this](const httplib::Request& req, httplib::Response& res) {
    const ParsedRequest p = parse_request(RequestKind::generate, req.body, opt.request);
    const GenerateRequest* r = parsed<GenerateRequest>(p, res);
    if (!r) return;
    LmEngine* e = lm(r->model, res);
    if (!e) return;
    generate(*e, *r, res);
  });
}

void Server::Impl::generate(LmEngine& e, const GenerateRequest& r, httplib::Response& res) {
  std::shared_ptr<Generation> g = e.try_generate(r);
  if (!g) return reply_busy(res, e);
  if (r.stream) return stream_generation(g, res, metrics);
  while (!g->wait_done(std::chrono::milliseconds(200))) {
  }  // the engine bounds it (timeout)
  if (g->first_token_seconds() >= 0) metrics.first_token(g->first_token_seconds());
  if (g->finish_reason() == "error" && g->error().find("no open session") != std::string::npos)
    return reply_error(res, 404, "no such session (closed, expired or never opened)");
  json j = final_json(*g);
  j["model"] = e.name();
  if (!r.session.empty()) j["session"] = e.name() + "." + r.session;
  reply_json(res, j, final_status(*g));
}

void Server::Impl::add_session_routes() {
  http.Post("/v1/sessions", [this](const httplib::Request& req, httplib::Response& res) {
    const ParsedRequest p = parse_request(RequestKind::session_open, req.body.empty() ? "{}" : req.body, opt.request);
    const SessionOpenRequest* r = parsed<SessionOpenRequest>(p, res);
    if (!r) return;
    LmEngine* e = lm(r->model, res);
    if (!e) return;
    std::future<std::string> f = e->try_open_session();
    if (!f.valid()) return reply_busy(res, *e);
    std::string id;
    if (!await(f, opt.engine.timeout, id, res)) return;
    if (id.empty()) {
      res.set_header("Retry-After", "1");
      return reply_error(res, 429, "too many open sessions (at most " + std::to_string(opt.engine.max_sessions) +
                                       "); close one or retry later");
    }
    reply_json(res, {{"session", e->name() + "." + id}, {"model", e->name()}}, 201);
  });
  // Session ids are MODEL.HEX; the model part finds the engine.
  auto engine_of = [this](const std::string& sid, std::string& id) -> LmEngine* {
    const size_t dot = sid.rfind('.');
    if (dot == std::string::npos) return nullptr;
    id = sid.substr(dot + 1);
    for (auto& e : lms)
      if (e->name() == sid.substr(0, dot)) return e.get();
    return nullptr;
  };
  http.Post(R"(/v1/sessions/([^/]+)/score)", [this, engine_of](const httplib::Request& req, httplib::Response& res) {
    const ParsedRequest p = parse_request(RequestKind::session_feed, req.body, opt.request);
    const SessionFeedRequest* r = parsed<SessionFeedRequest>(p, res);
    if (!r) return;
    std::string id;
    LmEngine* e = engine_of(req.matches[1], id);
    if (!e) return reply_error(res, 404, "no such session");
    std::future<SessionScore> f = e->try_feed_session(id, r->text);
    if (!f.valid()) return reply_busy(res, *e);
    SessionScore s;
    if (!await(f, opt.engine.timeout, s, res)) {
      if (res.status == 400 && res.body.find("no open session") != std::string::npos)
        reply_error(res, 404, "no such session (closed, expired or never opened)");
      return;
    }
    json j = score_json(s.piece);
    j["total_log_prob"] = s.total_log_prob, j["total_tokens"] = s.total_tokens;
    reply_json(res, j);
  });
  // A generation that goes on from the session's text (its state copied; the session does not move).
  http.Post(R"(/v1/sessions/([^/]+)/generate)", [this, engine_of](const httplib::Request& req, httplib::Response& res) {
    const ParsedRequest p = parse_request(RequestKind::session_generate, req.body, opt.request);
    const GenerateRequest* r = parsed<GenerateRequest>(p, res);
    if (!r) return;
    std::string id;
    LmEngine* e = engine_of(req.matches[1], id);
    if (!e) return reply_error(res, 404, "no such session");
    GenerateRequest from = *r;
    from.session = id;
    generate(*e, from, res);
  });
  http.Delete(R"(/v1/sessions/([^/]+))", [engine_of](const httplib::Request& req, httplib::Response& res) {
    std::string id;
    LmEngine* e = engine_of(req.matches[1], id);
    if (!e || !e->close_session(id)) return reply_error(res, 404, "no such session");
    reply_json(res, {{"closed", true}});
  });
}

}  // namespace recurrent::serve
