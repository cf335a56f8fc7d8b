// recurrent eval --model DIR --data FILE [--json] — held-out figures of a trained model.
//   language model: bits per character (char level) or perplexity (word level); --json prints
//     {"tokens": N, "loss_nats": x, "bits_per_token": x, "perplexity": x}
//   classifier (labelled sentences, any format of train classify): --json prints
//     {"n": N, "loss": x, "accuracy": x, "macro_f1": x}; --ensemble DIR (repeatable) averages the class
//     probabilities of --model and these models (tasks::evaluate_ensemble) and adds "models": M
//   echo state network (the CSV series; test part): --json prints {"part", "one_step": {"mae", "rmse",
//     "mase", ...}, "nmse_one_step", "nrmse_horizon", "horizon"[, "free_run": {...}]} (cmd_predict_esn.cpp)
//   forecaster (the CSV series; metrics on the test part of its chronological split): --json prints
//     {"mae", "rmse", "mase", "naive_mase", "seasonal_naive_mase", ...}
//   tagger (tagged sentences, any format of train tag): --json prints {"sentences", "tokens", "loss",
//     "accuracy", "f1", "f1_kind" ("span": conlleval span F1 for BIO tags; "macro": macro-F1 over tags),
//     "unseen_tags", and for span tags "precision", "recall"}
//   conditional LM (label<TAB>sentence): --json prints {"sentences", "tokens", "loss_nats", "perplexity"}
//   music model (JSON piano rolls; the test split): --json prints {"split", "chorales", "steps",
//     "nll_per_step", "frame_accuracy"} (cmd_music.cpp)
//   encoder-decoder (source<TAB>target pairs; --beam K): --json prints
//     {"n": N, "loss": x, "perplexity": x, "bleu": x, "exact_match": x, "precisions": [..], ...}
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <utility>
#include <vector>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/condlm.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/tag.h"
#include "recurrent/tasks/seq2seq.h"
#include "recurrent/train/checkpoint.h"
#include "tasks/ngram_json.h"

namespace recurrent::cli {

std::string model_task(const std::string& model) {
  const std::string path = tasks::resolve_model_path(model);
  const std::string cfg = train::read_checkpoint(path).config_json;
  try {
    return nlohmann::json::parse(cfg).value("task", "");
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("bad model configuration: ") + e.what());
  }
}

std::string model_kind(const std::string& task) {
  if (task.empty() || task == "lm") return "a language model";
  if (task == "classify") return "a classifier";
  if (task == "tag") return "a tagger";
  if (task == "condlm") return "a conditional language model";
  if (task == "seq2seq") return "an encoder-decoder";
  if (task == "forecast") return "a forecaster";
  if (task == "music") return "a music model";
  if (task == "asr") return "a speech model";
  if (task == "esn") return "an echo state network";
  return "a '" + task + "' model";
}

namespace {

// The first parameter of m holding NaN or ±inf ("" when none).
std::string nonfinite_tensor(const Module& m) {
  for (const auto& [name, p] : m.named_parameters()) {
    const Tensor w = p.value().contiguous();
    const float* d = w.data();
    if (!std::all_of(d, d + w.numel(), [](float x) { return std::isfinite(x); })) return name;
  }
  return "";
}

const char* kDiverged = " holds NaN or infinite values (a diverged run? use an earlier checkpoint)";

}  // namespace

void check_finite_weights(const Module& m, const std::string& model) {
  const std::string bad = nonfinite_tensor(m);
  RC_CHECK(bad.empty(), model, "weight tensor '", bad, "'", kDiverged);
}

// A NaN or infinite figure is an error, not a result (a diverged run's weights); names the first
// non-finite weight tensor when there is one.
void check_finite(double value, const std::string& what, const std::vector<std::pair<const Module*, std::string>>& models) {
  if (std::isfinite(value)) return;
  const std::string is = "the " + what + " is " + (std::isnan(value) ? "NaN" : "infinite") + ": ";
  for (const auto& [m, model] : models) {
    const std::string bad = nonfinite_tensor(*m);
    if (!bad.empty()) throw Error(model, is + "its weight tensor '" + bad + "'" + kDiverged);
  }
  throw Error(models.front().second, is + "the model's outputs overflow");
}

namespace {

// models: --model, then each --ensemble model (their class probabilities are averaged).
void eval_classifier(const std::vector<std::string>& models, const std::string& data, int64_t batch, bool json) {
  std::vector<std::unique_ptr<tasks::TextClassifier>> ms;
  std::vector<tasks::TextClassifier*> ptrs;
  for (const std::string& model : models) {
    RC_CHECK(model_task(model) == "classify", model, "an --ensemble member must be a classifier (train classify)");
    ms.push_back(tasks::load_classifier(model));
    ptrs.push_back(ms.back().get());
  }
  const data::LabeledSet set = data::read_labeled(data);
  RC_CHECK(!set.items.empty(), data, "no labelled sentences to evaluate");
  const tasks::ClassifyEval e = tasks::evaluate_ensemble(ptrs, models, set, batch);
  std::vector<std::pair<const Module*, std::string>> named;
  for (size_t i = 0; i < ms.size(); ++i) named.emplace_back(ms[i].get(), models[i]);
  check_finite(e.loss, "loss", named);
  // The baselines stored with --model (fitted on its training part), on the same sentences.
  const tasks::ClassifierBaselines base = tasks::load_classifier_baselines(models[0], *ms[0]);
  tasks::ClassifierBaselines::Scores bs;
  if (base.defined()) {
    std::vector<std::vector<int64_t>> seqs;
    for (const data::LabeledText& it : set.items) seqs.push_back(ms[0]->encode(it.text, set.source + ":" + std::to_string(it.line)));
    bs = base.evaluate(seqs, data::LabelSet::from_names(ms[0]->config().labels).ids(set),
                       static_cast<int64_t>(ms[0]->config().labels.size()));
  }
  if (json) {
    nlohmann::json j = {{"n", e.n}, {"loss", e.loss}, {"accuracy", e.accuracy}, {"macro_f1", e.macro_f1}};
    if (models.size() > 1) j["models"] = models.size();
    auto score = [](const tasks::ClassifyEval& x) { return nlohmann::json{{"accuracy", x.accuracy}, {"macro_f1", x.macro_f1}}; };
    if (base.defined()) j["baselines"] = {{"majority", score(bs.majority)}, {"bag_of_ngrams", score(bs.bow)}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("accuracy %.2f%%  macro-F1 %.4f  loss %.4f on %lld sentences\n", 100 * e.accuracy, e.macro_f1, e.loss,
                static_cast<long long>(e.n));
    if (base.defined())
      std::printf("baselines: majority class accuracy %.2f%%  macro-F1 %.4f; bag-of-n-grams accuracy %.2f%%  macro-F1 %.4f\n",
                  100 * bs.majority.accuracy, bs.majority.macro_f1, 100 * bs.bow.accuracy, bs.bow.macro_f1);
  }
}

void eval_tagger(const std::string& model, const std::string& data, bool json) {
  auto m = tasks::load_tagger(model);
  const data::TaggedSet set = data::read_tagged(data);
  RC_CHECK(!set.items.empty(), data, "no tagged sentences to evaluate");
  const tasks::TagEval e = tasks::evaluate_tagger(*m, set);
  check_finite(e.loss, "loss", {{m.get(), model}});
  if (e.unseen > 0)
    std::fprintf(stderr, "warning: %s: %lld tokens have a tag the model was not trained on (counted as errors)\n",
                 data.c_str(), static_cast<long long>(e.unseen));
  // The most-frequent-tag baseline stored with the model (fitted on its training part), on the same tokens.
  const std::unique_ptr<tasks::MostFrequentTag> base = tasks::load_tag_baseline(model);
  tasks::TagEval be;
  if (base) {
    std::vector<std::vector<std::string>> gold;
    for (const auto& s : set.items) gold.push_back(s.tags);
    be = tasks::tag_metrics(gold, base->predict(set));
  }
  if (json) {
    nlohmann::json j = {{"sentences", e.sentences}, {"tokens", e.tokens}, {"loss", e.loss}, {"accuracy", e.accuracy},
                        {"f1", e.f1()}, {"f1_kind", e.spans ? "span" : "macro"}, {"unseen_tags", e.unseen}};
    if (e.spans) j["precision"] = e.span.precision(), j["recall"] = e.span.recall();
    if (base) j["baselines"] = {{"most_frequent_tag", {{"accuracy", be.accuracy}, {"f1", be.f1()}}}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("accuracy %.2f%%  %s %.4f  loss %.4f on %lld tokens\n", 100 * e.accuracy,
                e.spans ? "span F1" : "macro-F1", e.f1(), e.loss, static_cast<long long>(e.tokens));
    if (base)
      std::printf("baseline: most frequent tag per word accuracy %.2f%%  %s %.4f\n", 100 * be.accuracy,
                  e.spans ? "span F1" : "macro-F1", be.f1());
  }
}

void eval_condlm(const std::string& model, const std::string& data, bool json) {
  auto m = tasks::load_condlm(model);
  const data::LabeledSet set = data::read_labeled(data);
  RC_CHECK(!set.items.empty(), set.source, "no labelled sentences to evaluate");
  std::vector<tasks::CondSentence> sents;
  for (const data::LabeledText& it : set.items)
    sents.push_back(m->encode(it.label, it.text, set.source + ":" + std::to_string(it.line)));
  const tasks::CondLmEval e = tasks::evaluate_condlm(*m, sents);
  check_finite(e.loss_nats, "loss", {{m.get(), model}});
  // The unigram and bigram baselines stored with the model (fitted on its training sentences), on the same targets.
  const tasks::NgramLmBaseline base = tasks::NgramLmBaseline::load(model, m->config().vocab.size());
  const std::vector<int64_t> ids = tasks::condlm_token_stream(sents);
  if (json) {
    nlohmann::json j = {{"sentences", e.sentences}, {"tokens", e.tokens}, {"loss_nats", e.loss_nats},
                        {"perplexity", e.perplexity()}};
    if (base.defined()) {
      j["baselines"] = tasks::detail::ngram_scores_json(base.unigram_nats(ids), base.bigram_nats(ids));
      j["baselines"]["bigram_lambda"] = base.lambda();
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("perplexity %.3f (%.4f nats per word) on %lld tokens in %lld sentences\n", e.perplexity(), e.loss_nats,
                static_cast<long long>(e.tokens), static_cast<long long>(e.sentences));
    if (base.defined())
      std::printf("baselines: unigram perplexity %.3f, bigram %.3f\n", std::exp(base.unigram_nats(ids)),
                  std::exp(base.bigram_nats(ids)));
  }
}

// Encoder-decoder on source<TAB>target pairs: {"n", "loss", "perplexity", "bleu", "exact_match", ...}
void eval_seq2seq(const std::string& model, const std::string& data, int64_t beam, bool json) {
  auto m = tasks::load_seq2seq(model);
  tasks::DecodeOptions d;
  d.beam = beam;
  const tasks::Seq2SeqEval e = tasks::evaluate_seq2seq(*m, data::read_parallel(data), d);
  check_finite(e.loss, "loss", {{m.get(), model}});
  if (json) {
    nlohmann::json j = {{"n", e.n}, {"loss", e.loss}, {"perplexity", std::exp(e.loss)}, {"bleu", e.bleu},
                        {"exact_match", e.exact_match}, {"precisions", e.precisions},
                        {"brevity_penalty", e.brevity_penalty}, {"beam", beam},
                        {"baselines", {{"copy_source", {{"bleu", e.copy_bleu}}}}}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("BLEU %.2f  exact match %.2f%%  loss %.4f (ppl %.2f) on %lld pairs (beam %lld)\n", e.bleu,
                100 * e.exact_match, e.loss, std::exp(e.loss), static_cast<long long>(e.n), static_cast<long long>(beam));
    std::printf("baseline: copying the source BLEU %.2f\n", e.copy_bleu);
  }
}

}  // namespace

void add_eval(CLI::App& app) {
  struct Args {
    std::string model, data;
    std::vector<std::string> ensemble;  // classifiers averaged with --model
    int64_t batch = 16, seq_len = 100, beam = 1;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("eval", "evaluate a model: a language model on a text (bits/char, perplexity), a classifier on labelled sentences, a tagger on tagged sentences, a forecaster on a CSV series (test part: MAE, RMSE, MASE), an encoder-decoder on sentence pairs (BLEU)");
  c->add_option("--model", a->model, "model directory (best.safetensors, else last) or file")->required()->check(checked("path"));
  c->add_option("--data", a->data, "UTF-8 text (a speech model: the FSDD folder, or a folder of connected digits with labels.tsv)")->required()->check(checked("path"));
  c->add_option("--batch", a->batch, "language model: rows scored together (the figure does not depend on it: each "
                "row first reads the --seq-len tokens before its part); classifier: sentences per batch")
      ->capture_default_str()->check(checked("positive"));
  c->add_option("--seq-len", a->seq_len, "language model: steps per chunk (RNN state / transformer KV cache carried "
                "across chunks), and the context each row reads before its part")->capture_default_str()->check(checked("positive"));
  c->add_option("--beam", a->beam, "encoder-decoder: beam width (1: greedy)")->capture_default_str()->check(checked("positive"));
  c->add_option("--ensemble", a->ensemble, "classifier: more models (e.g. other seeds) whose class probabilities "
                "are averaged with --model's (repeat the option)")->check(checked("path"));
  c->add_flag("--json", a->json, "one JSON line");
  c->callback([a, c] {
    const std::string task = model_task(a->model);
    RC_CHECK(a->ensemble.empty() || task == "classify", "--ensemble", "only for classifiers; --model is a '", task,
             "' model");
    // Options that do not apply to the model are refused, not ignored.
    const bool lm = task.empty() || task == "lm";
    RC_CHECK(c->count("--beam") == 0 || task == "seq2seq", "--beam", "applies to encoder-decoders (train seq2seq); "
             "this model is ", model_kind(task));
    RC_CHECK(c->count("--seq-len") == 0 || lm, "--seq-len", "applies to language models; this model is ", model_kind(task));
    RC_CHECK(c->count("--batch") == 0 || lm || task == "classify", "--batch", "applies to language models and "
             "classifiers; this model is ", model_kind(task));
    RC_CHECK(a->batch >= 1, "--batch", "expected a positive integer, got ", a->batch);
    RC_CHECK(a->seq_len >= 1, "--seq-len", "expected a positive integer, got ", a->seq_len);
    RC_CHECK(a->beam >= 1, "--beam", "expected a positive integer (1: greedy), got ", a->beam);
    std::vector<std::string> models = {a->model};
    models.insert(models.end(), a->ensemble.begin(), a->ensemble.end());
    if (task == "classify") return eval_classifier(models, a->data, a->batch, a->json);
    if (task == "forecast") return eval_forecaster(a->model, a->data, a->json);  // cmd_predict.cpp
    if (task == "tag") return eval_tagger(a->model, a->data, a->json);
    if (task == "condlm") return eval_condlm(a->model, a->data, a->json);
    if (task == "seq2seq") return eval_seq2seq(a->model, a->data, a->beam, a->json);
    if (task == "music") return eval_music(a->model, a->data, a->json);  // cmd_music.cpp
    if (task == "asr") return eval_asr(a->model, a->data, a->json);      // cmd_transcribe.cpp
    if (task == "esn") return eval_esn(a->model, a->data, a->json);      // cmd_predict_esn.cpp
    auto m = tasks::open_lm(a->model);
    const std::vector<int64_t> ids = m->vocab().encode(data::read_utf8_file(a->data));
    RC_CHECK(ids.size() >= 2, a->data, "fewer than 2 tokens to evaluate");
    const tasks::LmEval e = tasks::evaluate_lm(*m, ids, a->batch, a->seq_len);
    check_finite(e.loss_nats, "loss", {{m.get(), a->model}});
    // The unigram and bigram baselines stored with the model (fitted on its training text), on the same tokens.
    const tasks::NgramLmBaseline base = tasks::NgramLmBaseline::load(a->model, m->vocab().size());
    if (a->json) {
      nlohmann::json j = {{"tokens", e.tokens}, {"loss_nats", e.loss_nats}, {"bits_per_token", e.bits()},
                          {"perplexity", e.perplexity()}};
      if (base.defined()) {
        j["baselines"] = tasks::detail::ngram_scores_json(base.unigram_nats(ids), base.bigram_nats(ids));
        j["baselines"]["bigram_lambda"] = base.lambda();
      }
      std::printf("%s\n", j.dump().c_str());
    } else if (m->vocab().level() == data::TokenLevel::chars) {
      std::printf("%.4f bits/char (%.4f nats) on %lld characters\n", e.bits(), e.loss_nats, static_cast<long long>(e.tokens));
    } else {
      std::printf("perplexity %.3f (%.4f nats, %.4f bits per word) on %lld tokens\n", e.perplexity(), e.loss_nats,
                  e.bits(), static_cast<long long>(e.tokens));
    }
    if (!a->json && base.defined())
      std::printf("baselines: unigram %.4f nats (%.4f bits), bigram %.4f nats (%.4f bits) per token\n", base.unigram_nats(ids),
                  base.unigram_nats(ids) / std::log(2.0), base.bigram_nats(ids), base.bigram_nats(ids) / std::log(2.0));
  });
}

}  // namespace recurrent::cli
