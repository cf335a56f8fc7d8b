// recurrent eval --model DIR --data FILE [--json] — held-out figures of a trained model.
//   language model: bits per character (char level) or perplexity (word level); --json prints
//     {"tokens": N, "loss_nats": x, "bits_per_token": x, "perplexity": x}
//   classifier (labelled sentences, any format of train classify): --json prints
//     {"n": N, "loss": x, "accuracy": x, "macro_f1": x}
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/train/checkpoint.h"

namespace recurrent::cli {

namespace {

std::string model_task(const std::string& model) {
  const std::string path = tasks::resolve_model_path(model);
  const std::string cfg = train::read_checkpoint(path).config_json;
  try {
    return nlohmann::json::parse(cfg).value("task", "");
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("bad model configuration: ") + e.what());
  }
}

void eval_classifier(const std::string& model, const std::string& data, int64_t batch, bool json) {
  auto m = tasks::load_classifier(model);
  const data::LabeledSet set = data::read_labeled(data);
  RC_CHECK(!set.items.empty(), data, "no labelled sentences to evaluate");
  const data::LabelSet labels = data::LabelSet::from_names(m->config().labels);
  std::vector<std::vector<int64_t>> seqs;
  for (const data::LabeledText& it : set.items) seqs.push_back(m->encode(it.text, data + ":" + std::to_string(it.line)));
  const tasks::ClassifyEval e = tasks::evaluate_classifier(*m, seqs, labels.ids(set), batch);
  if (json) {
    nlohmann::json j = {{"n", e.n}, {"loss", e.loss}, {"accuracy", e.accuracy}, {"macro_f1", e.macro_f1}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("accuracy %.2f%%  macro-F1 %.4f  loss %.4f on %lld sentences\n", 100 * e.accuracy, e.macro_f1, e.loss,
                static_cast<long long>(e.n));
  }
}

}  // namespace

void add_eval(CLI::App& app) {
  struct Args {
    std::string model, data;
    int64_t batch = 16, seq_len = 100;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("eval", "evaluate a model: a language model on a text (bits/char, perplexity), a classifier on labelled sentences");
  c->add_option("--model", a->model, "model directory (best.safetensors, else last) or file")->required();
  c->add_option("--data", a->data, "UTF-8 text")->required()->check(CLI::ExistingFile);
  c->add_option("--batch", a->batch, "contiguous rows")->capture_default_str();
  c->add_option("--seq-len", a->seq_len, "steps per chunk (RNN state / transformer KV cache carried across chunks)")->capture_default_str();
  c->add_flag("--json", a->json, "one JSON line");
  c->callback([a] {
    if (model_task(a->model) == "classify") return eval_classifier(a->model, a->data, a->batch, a->json);
    auto m = tasks::open_lm(a->model);
    const std::vector<int64_t> ids = m->vocab().encode(data::read_utf8_file(a->data));
    RC_CHECK(ids.size() >= 2, a->data, "fewer than 2 tokens to evaluate");
    const tasks::LmEval e = tasks::evaluate_lm(*m, ids, a->batch, a->seq_len);
    if (a->json) {
      nlohmann::json j = {{"tokens", e.tokens}, {"loss_nats", e.loss_nats}, {"bits_per_token", e.bits()},
                          {"perplexity", e.perplexity()}};
      std::printf("%s\n", j.dump().c_str());
    } else if (m->vocab().level() == data::TokenLevel::chars) {
      std::printf("%.4f bits/char (%.4f nats) on %lld characters\n", e.bits(), e.loss_nats, static_cast<long long>(e.tokens));
    } else {
      std::printf("perplexity %.3f (%.4f nats, %.4f bits per word) on %lld tokens\n", e.perplexity(), e.loss_nats,
                  e.bits(), static_cast<long long>(e.tokens));
    }
  });
}

}  // namespace recurrent::cli
