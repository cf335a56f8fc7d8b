// recurrent eval --model DIR --data FILE [--json] — held-out loss of a language model: bits per
// character (char level) or perplexity (word level). --json prints one line:
//   {"tokens": N, "loss_nats": x, "bits_per_token": x, "perplexity": x}
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/lm.h"

namespace recurrent::cli {

void add_eval(CLI::App& app) {
  struct Args {
    std::string model, data;
    int64_t batch = 16, seq_len = 100;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("eval", "evaluate a language model on a text (bits/char or perplexity)");
  c->add_option("--model", a->model, "model directory (best.safetensors, else last) or file")->required();
  c->add_option("--data", a->data, "UTF-8 text")->required()->check(CLI::ExistingFile);
  c->add_option("--batch", a->batch, "contiguous rows")->capture_default_str();
  c->add_option("--seq-len", a->seq_len, "steps per chunk (state carried across chunks)")->capture_default_str();
  c->add_flag("--json", a->json, "one JSON line");
  c->callback([a] {
    auto m = tasks::load_lm(a->model);
    const std::vector<int64_t> ids = m->config().vocab.encode(data::read_utf8_file(a->data));
    RC_CHECK(ids.size() >= 2, a->data, "fewer than 2 tokens to evaluate");
    const tasks::LmEval e = tasks::evaluate_lm(*m, ids, a->batch, a->seq_len);
    if (a->json) {
      nlohmann::json j = {{"tokens", e.tokens}, {"loss_nats", e.loss_nats}, {"bits_per_token", e.bits()},
                          {"perplexity", e.perplexity()}};
      std::printf("%s\n", j.dump().c_str());
    } else if (m->config().vocab.level() == data::TokenLevel::chars) {
      std::printf("%.4f bits/char (%.4f nats) on %lld characters\n", e.bits(), e.loss_nats, static_cast<long long>(e.tokens));
    } else {
      std::printf("perplexity %.3f (%.4f nats, %.4f bits per word) on %lld tokens\n", e.perplexity(), e.loss_nats,
                  e.bits(), static_cast<long long>(e.tokens));
    }
  });
}

}  // namespace recurrent::cli
