// The routes of the other model kinds: classify, tag, translate (contract in serve/task_engine.h).
#include "recurrent/core/error.h"
#include "serve/server_impl.h"

namespace recurrent::serve {

using nlohmann::json;

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
      if (const ApiError* e = std::get_if<ApiError>(&p)) return reply_error(res, e->status, e->message);
      const TextRequest& t = std::get<TextRequest>(p);
      TaskEngine* e = other(t.model, r.task, res);
      if (!e) return;
      std::future<json> f = e->try_predict(t);
      if (!f.valid()) {
        res.set_header("Connection", "close");
        if (!e->accepting()) return reply_error(res, 503, "the server is shutting down");
        res.set_header("Retry-After", "1");
        return reply_error(res, 429, "too many requests: the model's queue is full; retry after 1 s");
      }
      if (f.wait_for(opt.engine.timeout) != std::future_status::ready)
        return reply_error(res, 504, "the request timed out in the model's queue");
      try {
        json j = f.get();
        j["model"] = e->name();
        reply_json(res, j);
      } catch (const Error& err) {
        reply_error(res, 400, err.what());
      } catch (const std::future_error&) {
        reply_error(res, 503, "the server is shutting down");
      }
    });
}

}  // namespace recurrent::serve
