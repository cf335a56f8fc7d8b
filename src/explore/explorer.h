// explore/explorer.h — `recurrent explore`: a local web app over run folders and trained models
// (docs/explore.md). The page and its script are embedded in the binary (explore/assets/, nothing
// fetched from elsewhere); the HTTP layer is serve's (Debian's cpp-httplib, the same JSON replies).
//
//   GET  /                                  the page (views: Runs, Gradient flow, Cells, Samples, Attention)
//   GET  /assets/NAME                       its script and style sheet
//   GET  /api/runs                          {"runs": [{"name", "metrics", "diagnostics", "model"}]} (found anew each time)
//   GET  /api/runs/NAME/metrics?from=N      metrics.csv rows N… (explore/runs.h read_metrics)
//   GET  /api/runs/NAME/diagnostics         ‖∂L/∂h_t‖ per probed step (read_diagnostics)
//   GET  /api/runs/NAME/model               {"task", "arch", "level", "layers": [{"cell", "hidden"}], "vocab_size"}
//   GET  /api/text                          {"text", "warm": [runs]}: the text given with --text ("" without), and
//                                           the runs whose cells of it are computed (warm())
//   POST /api/cells {"run", "text"?, "search"?}  activations of a char RNN LM over the text (without "text": the
//                                           explorer's --text; explore/activations.h): {"id", "chars", "prob", "layers":
//                                           [{"cell", "size", "kinds"}], "seconds", "gate_check"}, and with "search" (a
//                                           search body, below) its answer under "search": the page's first view in one request
//   GET  /api/cells/ID/unit?layer=L&index=K&kind=h   {"values": [N]}
//   POST /api/cells/ID/search {"pattern": "quotes"|"line"|"brackets"} or {"spans": [[b, e], …]}, "kinds"?, "top"?
//                                           {"units": [{"layer", "index", "kind", "r"}], "best_values": [N] (the first unit's row)}
//   POST /api/sample {"run", "prime", "length", "temperature", "top_k", "top_p", "seed"}
//                                           {"tokens": [{"token", "prob"}]}: prime then generated, each with P(token)
//   POST /api/attention {"run", "text", "beam"? (5)}   an encoder-decoder: {"source": [tokens], "results": [{"beam",
//                                           "translation", "target", "log_prob", "ended", "attention": [target step]
//                                           [source token] (RNN), "maps" (transformer)}]}, greedy first, then beam
//                                           search of that width; a transformer LM: {"maps"} over the text.
//                                           maps: explore/attention_maps.h (per layer and head, recorded by the forward)
// Every refusal is {"error": "one line"} with a 4xx: 400 bad body or parameter, 404 unknown run, cell
// set or endpoint, 409 a run without the file asked for, 413 a body over 1 MiB.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace recurrent::explore {

struct ExploreOptions {
  std::vector<std::string> paths;  // runs, model files, folders of runs
  std::string host = "127.0.0.1";
  int port = 8090;                 // 0: any free port
  std::string text;                // the Cells view's text at start ("" none)
  int64_t max_chars = 20000;       // longest text for the Cells view
  int64_t warm = 4;                // warm() reads the text with this many character RNN LMs (--warm)
  int http_threads = 8;
  bool log = false;                // --log: a line per request and per phase of a Cells reading (ms since start)
};

class Explorer {
 public:
  explicit Explorer(ExploreOptions o);
  ~Explorer();
  Explorer(const Explorer&) = delete;
  Explorer& operator=(const Explorer&) = delete;
  int bind();  // Error("--port", ...) when it cannot listen
  void run();  // serves until stop()
  // Loads the language models of the first kPreload runs that hold one (a model a page asks for is then
  // ready), then reads the --text with the first `warm` (4) character RNN LMs listed, so their Cells view
  // opens at once (GET /api/text lists them under "warm"); returns one line per text read, e.g.
  // "moby: 2.31 s". Any thread.
  static constexpr int64_t kPreload = 4;
  std::vector<std::string> warm();
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace recurrent::explore
