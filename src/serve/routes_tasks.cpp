// The routes of the other model kinds: classify, tag, translate, forecast (contract in serve/task_engine.h).
#include "recurrent/core/error.h"
#include "serve/server_impl.h"

namespace recurrent::serve {

using nlohmann::json;

namespace {

// Hands `in` to the engine, waits within the timeout, replies (the model's name added).
void answer(TaskEngine& e, const TaskInput& in, Clock::duration timeout, httplib::Response& res) {
  std::future<json> f = e.try_predict(in);
  if (!f.valid()) return reply_busy(res, e.accepting());
  json j;
  if (!await(f, timeout, j, res)) return;
  j["model"] = e.name();
  reply_json(res, j);
}

}  // namespace

void Server::Impl::add_task_routes() {
  struct Route {
    const char* path;
    RequestKind kind;
    const char* task;
  };
  for (Route r : {Route{"/v1/classify", RequestKind::classify, "classify"}, Route{"/v1/tag", RequestKind::tag, "tag"},
                  Route{"/v1/translate", RequestKind::translate, "seq2seq"}})
    http.Post(r.path, [this, r](const httplib::Request& req, httplib::Response& res) {
      const ParsedRequest p = parse_request(r.kind, req.body, opt.request);
      const TextRequest* t = parsed<TextRequest>(p, res);
      if (!t) return;
      if (TaskEngine* e = other(t->model, r.task, res)) answer(*e, *t, opt.engine.timeout, res);
    });
  http.Post("/v1/forecast", [this](const httplib::Request& req, httplib::Response& res) {
    const ParsedRequest p = parse_request(RequestKind::forecast, req.body, opt.request);
    const ForecastRequest* f = parsed<ForecastRequest>(p, res);
    if (!f) return;
    if (TaskEngine* e = other(f->model, "forecast", res)) answer(*e, *f, opt.engine.timeout, res);
  });
}

}  // namespace recurrent::serve
