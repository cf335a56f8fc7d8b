// recurrent score --model DIR "The cat sat on the mat" — the log-probability of each text (given as
// arguments, or one per line on stdin) and every token's probability given the tokens before it.
// Output per text: a summary line, then "  token<TAB>probability" lines; --json: one line per text
//   {"text": ..., "log_prob": x, "log2_prob": x, "tokens": [{"token": t, "prob": p, "unk": b}, ...]}
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/tasks/lm.h"

namespace recurrent::cli {

namespace {
void print_score(const std::string& text, const tasks::TextScore& s, bool json) {
  if (json) {
    nlohmann::json toks = nlohmann::json::array();
    for (auto& t : s.tokens) toks.push_back({{"token", t.token}, {"prob", t.prob}, {"unk", t.unk}});
    nlohmann::json j = {{"text", text}, {"log_prob", s.log_prob}, {"log2_prob", s.log_prob / std::log(2.0)}, {"tokens", toks}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  const double n = static_cast<double>(s.tokens.size());
  std::printf("%s\n  log P = %.4f nats (%.4f bits), %zu tokens, per-token perplexity %.3f\n", text.c_str(), s.log_prob,
              s.log_prob / std::log(2.0), s.tokens.size(), std::exp(-s.log_prob / n));
  for (auto& t : s.tokens) {
    std::string shown = t.token == "\n" ? "\\n" : t.token == " " ? "' '" : t.token;
    std::printf("  %s\t%.6f%s\n", shown.c_str(), t.prob, t.unk ? "\t(<unk>)" : "");
  }
}
}  // namespace

void add_score(CLI::App& app) {
  struct Args {
    std::string model;
    std::vector<std::string> texts;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("score", "log-probability of sentences under a language model");
  c->add_option("--model", a->model, "model directory (best.safetensors, else last) or file")->required()->check(checked("path"));
  c->add_option("text", a->texts, "texts to score (default: one per line on stdin)");
  c->add_flag("--json", a->json, "one JSON line per text");
  c->callback([a] {
    auto m = tasks::open_lm(a->model);
    if (!a->texts.empty()) {
      for (const std::string& t : a->texts) print_score(t, tasks::score_text(*m, t), a->json);
      return;
    }
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      print_score(line, tasks::score_text(*m, line), a->json);
      std::fflush(stdout);
    }
  });
}

}  // namespace recurrent::cli
