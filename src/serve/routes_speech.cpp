// The speech routes (contract in serve/speech_engine.h; docs/serve.md has curl lines):
//   POST   /v1/transcribe[?model=NAME&beam=N]          body: the audio file (WAV, FLAC, …)
//   POST   /v1/transcribe/sessions[?model=NAME]        → 201 {"session", "sample_rate", "format": "s16le"}
//   POST   /v1/transcribe/sessions/ID/audio            body: the next raw s16le PCM chunk → the partial text
//   POST   /v1/transcribe/sessions/ID/finish           body: the last chunk (may be empty) → the final text
//   DELETE /v1/transcribe/sessions/ID
// The parameters come in the query string (parse_request's transcribe kinds); the body is the audio.
#include "serve/server_impl.h"

namespace recurrent::serve {

using nlohmann::json;

namespace {

std::string_view query_of(const httplib::Request& req) {
  const size_t q = req.target.find('?');
  return q == std::string::npos ? std::string_view() : std::string_view(req.target).substr(q + 1);
}

}  // namespace

void Server::Impl::add_speech_routes() {
  http.Post("/v1/transcribe", [this](const httplib::Request& req, httplib::Response& res) {
    const ParsedRequest p = parse_request(RequestKind::transcribe, query_of(req), opt.request);
    const AudioRequest* r = parsed<AudioRequest>(p, res);
    if (!r) return;
    SpeechEngine* e = speech_model(r->model, res);
    if (!e) return;
    std::future<json> f = e->try_transcribe(req.body, r->beam);
    if (!f.valid()) return reply_busy(res, e->accepting());
    json j;
    if (!await(f, opt.engine.timeout, j, res)) return;
    j["model"] = e->name();
    reply_json(res, j);
  });
  http.Post("/v1/transcribe/sessions", [this](const httplib::Request& req, httplib::Response& res) {
    const ParsedRequest p = parse_request(RequestKind::audio_session_open, query_of(req), opt.request);
    const AudioRequest* r = parsed<AudioRequest>(p, res);
    if (!r) return;
    SpeechEngine* e = speech_model(r->model, res);
    if (!e) return;
    std::future<std::string> f = e->try_open_session();
    if (!f.valid()) return reply_busy(res, e->accepting());
    std::string id;
    if (!await(f, opt.engine.timeout, id, res)) return;
    if (id.empty()) {
      res.set_header("Retry-After", "1");
      return reply_error(res, 429, "too many open audio sessions (at most " + std::to_string(opt.engine.max_sessions) +
                                       " a model); finish one or retry later");
    }
    reply_json(res, {{"session", e->name() + "." + id}, {"model", e->name()}, {"sample_rate", e->sample_rate()},
                     {"format", "s16le"}}, 201);
  });
  // Session ids are MODEL.HEX; the model part finds the engine.
  auto engine_of = [this](const std::string& sid, std::string& id) -> SpeechEngine* {
    const size_t dot = sid.rfind('.');
    if (dot == std::string::npos) return nullptr;
    id = sid.substr(dot + 1);
    for (auto& e : speech)
      if (e->name() == sid.substr(0, dot)) return e.get();
    return nullptr;
  };
  for (const bool finish : {false, true})
    http.Post(finish ? R"(/v1/transcribe/sessions/([^/]+)/finish)" : R"(/v1/transcribe/sessions/([^/]+)/audio)",
              [this, engine_of, finish](const httplib::Request& req, httplib::Response& res) {
                std::string id;
                SpeechEngine* e = engine_of(req.matches[1], id);
                if (!e) return reply_error(res, 404, "no such audio session");
                std::future<json> f = e->try_push(id, req.body, finish);
                if (!f.valid()) return reply_busy(res, e->accepting());
                json j;
                if (!await(f, opt.engine.timeout, j, res)) {
                  if (res.status == 400 && res.body.find("no open session") != std::string::npos)
                    reply_error(res, 404, "no such audio session (finished, closed, expired or never opened)");
                  return;
                }
                j["model"] = e->name();
                reply_json(res, j);
              });
  http.Delete(R"(/v1/transcribe/sessions/([^/]+))", [engine_of](const httplib::Request& req, httplib::Response& res) {
    std::string id;
    SpeechEngine* e = engine_of(req.matches[1], id);
    if (!e || !e->close_session(id)) return reply_error(res, 404, "no such audio session");
    reply_json(res, {{"closed", true}});
  });
}

}  // namespace recurrent::serve
