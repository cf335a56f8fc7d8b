// explore/explorer_impl.h — what the explorer's route files share.
#pragma once

#include <httplib.h>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "explore/activations.h"
#include "explore/explorer.h"
#include "explore/runs.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/seq2seq.h"

namespace recurrent::explore {

struct Explorer::Impl {
  ExploreOptions opt;
  httplib::Server http;
  int port = -1;
  std::mutex models_mu;  // the loaded models, by file and modification time
  std::map<std::string, std::pair<std::string, std::shared_ptr<tasks::LmModel>>> models;
  std::map<std::string, std::shared_ptr<tasks::Seq2SeqModel>> s2s_models;  // by file
  // The one-layer RNNs of each character RNN LM's stack (explore/activations.h layer_rnns), by run folder, with
  // the model whose weights they share (a new version of the file: built anew).
  std::map<std::string, std::pair<std::shared_ptr<tasks::LmModel>, std::shared_ptr<const std::vector<RNN>>>> layer_cache;
  std::mutex work_mu;    // one model computation at a time (the machine's cores are the limit)
  std::mutex cells_mu;
  struct CellSet {
    std::string id;
    std::shared_ptr<const Activations> acts;  // first the states only (h, c); with the gates once asked for
    std::string reply;  // the POST /api/cells answer
    RunEntry run;       // what was read, for the reading with the gates
    std::string text;
  };
  std::deque<CellSet> cells;  // newest first, at most 4
  std::vector<std::string> warm;  // runs whose cells of opt.text are computed (warm())
  const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  // With opt.log: prints "[ms since start] what" (one line, flushed); nothing otherwise.
  void note(const std::string& what) const;

  // The run called `name`, or nullptr with a 404 answered.
  std::optional<RunEntry> run(const std::string& name, httplib::Response& res);
  // The language model of run `name` (loaded once per file version); Error when there is none.
  std::shared_ptr<tasks::LmModel> model(const RunEntry& r);
  // Run r's character RNN LM and its layer RNNs (built once per model version); Error when it has none.
  std::pair<std::shared_ptr<tasks::LmModel>, std::shared_ptr<const std::vector<RNN>>> char_lm(const RunEntry& r);
  std::shared_ptr<const Activations> cell_set(const std::string& id, httplib::Response& res);
  // Cell set `id` with its gate rows: read again keeping them the first time one is asked for (the first
  // reading keeps the states only: less fresh memory before the page's first view); nullptr with a 404.
  std::shared_ptr<const Activations> gated_set(const std::string& id, httplib::Response& res);
  // The cells of run r over `text`, from the cache or computed (one computation at a time); Error when
  // the run holds no character-level RNN LM or the text is refused.
  CellSet read_cells(const RunEntry& r, const std::string& text);
  void add_run_routes();    // explorer.cpp
  void add_cells_routes();  // routes_cells.cpp
  // The RNN encoder-decoder with attention of run r (loaded once); Error otherwise.
  std::shared_ptr<tasks::Seq2SeqModel> seq2seq(const RunEntry& r);
  void add_attention_routes();  // routes_attention.cpp
};

// The replies' content type. With a charset, cpp-httplib does not compress them: it would brotli- or
// gzip-compress "application/json" for a browser, which cost more time than it saved over loopback
// (a 200 KB Cells reply: ~300 ms on a loaded core).
inline constexpr const char* kJson = "application/json; charset=utf-8";
void reply_json(httplib::Response& res, const nlohmann::json& j, int status = 200);
void reply_error(httplib::Response& res, int status, const std::string& message);  // {"error": message}

// The body as a JSON object whose fields are all in `known`; Error("body", ...) otherwise.
nlohmann::json object_body(const std::string& body, std::initializer_list<const char*> known);
// Error(what, ...) unless j is an object whose fields are all in `known`.
void check_fields(const nlohmann::json& j, const char* what, std::initializer_list<const char*> known);
// Runs `f`, turning an Error into a 400 with its one line.
void answer(httplib::Response& res, const std::function<void()>& f);

}  // namespace recurrent::explore
