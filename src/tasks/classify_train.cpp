// `recurrent train classify`: labelled sentences → vocabulary → classifier → minibatch training with
// validation each epoch, best/last checkpoints, metrics CSV, Ctrl-C / --max-steps and exact resume —
// the loop is tasks/sentence_loop.h, shared with `train tag` and `train condlm`.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "recurrent/train/dist.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/vocab.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/classify.h"
#include "tasks/layer_options.h"
#include "tasks/sentence_loop.h"

namespace recurrent::tasks {

namespace {

using nlohmann::json;

struct Encoded {
  std::vector<std::vector<int64_t>> seqs;
  std::vector<int64_t> labels;
};

class ClassifyRun : public SentenceTask {
 public:
  explicit ClassifyRun(const ClassifyTrainOptions& o) : o_(o), loop_(loop_options(o)) {}
  ClassifyOutcome run();

  Module& model() override { return *model_; }
  std::string config_json() const override { return cfg_->to_json(); }
  int64_t train_items() const override { return static_cast<int64_t>(tr_.seqs.size()); }
  Var batch_loss(const std::vector<size_t>& items) override;
  double batch_weight(const std::vector<size_t>& items) const override {  // a mean weighted by --class-weight
    double n = 0;
    for (size_t i : items) n += class_weights_[static_cast<size_t>(tr_.labels[i])];
    return n;
  }
  ValidScore validate() override;
  std::vector<std::pair<std::string, Rng*>> rngs() override {
    return {{"dropout_rng", &model_->dropout_rng()}, {"rnn_dropout_rng", &model_->rnn().dropout_rng()}};
  }
  io::NamedTensors extra_tensors() const override { return baselines_.tensors(); }

 private:
  static SentenceLoopOptions loop_options(const ClassifyTrainOptions& o);
  void load_sets();
  void build_config();
  void encode_sets();
  void finish();
  void report_init(const LmInitReport& r, const std::string& from);
  json report_baselines(const char* part, const Encoded& e, const ClassifyEval& model);

  ClassifyTrainOptions o_;
  SentenceLoop loop_;
  data::LabeledSet train_, valid_, test_;
  std::unique_ptr<ClassifierConfig> cfg_;
  std::unique_ptr<TextClassifier> model_;
  Encoded tr_, va_, te_;
  std::vector<float> class_weights_;  // [C] per --class-weight, from the training labels
  ClassifierBaselines baselines_;  // fitted on tr_ before training (deterministic, so a resume refits the same)
  std::string init_report_;  // what --init-from copied (results.json)
};

SentenceLoopOptions ClassifyRun::loop_options(const ClassifyTrainOptions& o) {
  SentenceLoopOptions l = common_loop_options(o, "classify");
  l.weight_decay = o.weight_decay, l.patience = o.patience;
  l.order_stream = 0x636c617373ull;  // "class"
  l.metric = "macro_f1";  // the model kept: best validation macro-F1 (accuracy rewards the majority class)
  return l;
}

void ClassifyRun::load_sets() {
  const data::TextFormat f = data::parse_text_format(o_.format);
  RC_CHECK(!o_.data.empty(), "--data", "give at least one training file");
  std::vector<data::LabeledSet> parts;
  for (const std::string& p : o_.data) parts.push_back(data::read_labeled(p, f));
  data::LabeledSet all = parts.size() == 1 ? parts[0] : data::concat_sets(parts, o_.data[0] + " (+" +
                                                                          std::to_string(parts.size() - 1) + " files)");
  // Split by position into folds (item i in fold i % K): fold `fold` → test, fold−1 → valid (each
  // only when that file is not given). Default K = 10, fold 9: test i % 10 == 9, valid i % 10 == 8.
  RC_CHECK(o_.folds >= 3, "--folds", "expected >= 3 (a test, a validation and a training fold), got ", o_.folds);
  const int64_t K = o_.folds, tf = o_.fold < 0 ? K - 1 : o_.fold, vf = (tf + K - 1) % K;
  RC_CHECK(o_.fold >= -1 && tf < K, "--fold", "expected a fold in [0, ", K, ") (--folds ", K, "), got ", o_.fold);
  for (size_t i = 0; i < all.items.size(); ++i) {
    const int64_t r = static_cast<int64_t>(i % static_cast<size_t>(K));
    if (o_.test.empty() && r == tf) test_.items.push_back(all.items[i]);
    else if (o_.valid.empty() && r == vf) valid_.items.push_back(all.items[i]);
    else train_.items.push_back(all.items[i]);
  }
  train_.source = valid_.source = test_.source = all.source;
  if (!o_.valid.empty()) valid_ = data::read_labeled(o_.valid, f);
  if (!o_.test.empty()) test_ = data::read_labeled(o_.test, f);
  data::check_classes(train_, "the training data");
  RC_CHECK(!valid_.items.empty(), o_.valid.empty() ? all.source : o_.valid, "no validation sentences");
}

void ClassifyRun::build_config() {
  cfg_ = std::make_unique<ClassifierConfig>();
  cfg_->chars = o_.level == "char";
  RC_CHECK(cfg_->chars || o_.level == "word", "--level", "expected word or char, got '", o_.level, "'");
  cfg_->lower = !o_.keep_case;
  std::map<std::string, int64_t> counts;
  for (const data::LabeledText& it : train_.items)
    for (const std::string& t : classify_tokens(it.text, cfg_->chars, cfg_->lower, train_.source + ":" + std::to_string(it.line)))
      ++counts[t];
  cfg_->vocab = data::frequent_tokens(counts, {"<unk>"}, o_.min_count, o_.max_vocab);
  if (o_.lm_vocab) {  // the LM's words too: words unseen in training keep their pretrained embedding
    RC_CHECK(!o_.init_from.empty(), "--lm-vocab", "needs --init-from LM");
    std::unordered_set<std::string> have(cfg_->vocab.begin(), cfg_->vocab.end());
    for (const std::string& w : lm_vocabulary(o_.init_from)) {
      // Only words the classifier's tokenizer can produce as one token (and in its case).
      const std::vector<std::string> t = classify_tokens(w, false, cfg_->lower, o_.init_from);
      if (t.size() == 1 && t[0] == w && have.insert(w).second) cfg_->vocab.push_back(w);
    }
  }
  cfg_->labels = data::LabelSet::from(train_).names();
  cfg_->layers = layer_specs(o_.cells, o_.hidden, o_.layers, o_.recurrent_dropout, o_.zoneout);
  cfg_->embed = o_.embed > 0 ? o_.embed : cfg_->layers[0].hidden;
  cfg_->bidirectional = o_.bidirectional;
  cfg_->dropout = static_cast<float>(o_.dropout);
  cfg_->word_dropout = static_cast<float>(o_.word_dropout);
  cfg_->pooling = parse_pooling(o_.pool);
  cfg_->validate();
}

void ClassifyRun::encode_sets() {
  const data::LabelSet labels = data::LabelSet::from_names(cfg_->labels);
  auto enc = [&](const data::LabeledSet& s, Encoded& e) {
    e.labels = labels.ids(s);  // a label unseen in training: error naming file:line
    for (const data::LabeledText& it : s.items) e.seqs.push_back(model_->encode(it.text, s.source + ":" + std::to_string(it.line)));
  };
  enc(train_, tr_);
  enc(valid_, va_);
  if (!o_.trial) enc(test_, te_);  // a --search trial never looks at the test part
}

Var ClassifyRun::batch_loss(const std::vector<size_t>& items) {
  std::vector<const std::vector<int64_t>*> bs;
  std::vector<int64_t> ys;
  for (size_t i : items) {
    bs.push_back(&tr_.seqs[i]);
    ys.push_back(tr_.labels[i]);
  }
  CrossEntropyOptions ce;
  for (int64_t y : ys) ce.weights.push_back(class_weights_[static_cast<size_t>(y)]);
  return cross_entropy(model_->forward(bs), ys, ce);
}

ValidScore ClassifyRun::validate() {
  const ClassifyEval v = evaluate_classifier(*model_, va_.seqs, va_.labels);
  char buf[96];
  std::snprintf(buf, sizeof buf, "acc %.2f%%  F1 %.3f", 100 * v.accuracy, v.macro_f1);
  return {v.macro_f1, v.loss, buf};
}

void ClassifyRun::report_init(const LmInitReport& r, const std::string& from) {
  const std::string what = from + ": " + std::to_string(r.rows) + " of " + std::to_string(r.vocab) +
                           " embedding rows, " + std::to_string(r.tensors) + " recurrent tensors";
  init_report_ += (init_report_.empty() ? "" : "; ") + what;
  if (!o_.quiet) loop_.line("initialised from " + what);
}

// --class-weight: balanced → w_c = N / (C · n_c) (classes absent from training: 1), none → 1.
std::vector<float> class_weights(const std::vector<int64_t>& labels, int64_t C, const std::string& mode) {
  RC_CHECK(mode == "balanced" || mode == "none", "--class-weight", "expected balanced or none, got '", mode, "'");
  std::vector<float> w(static_cast<size_t>(C), 1.0f);
  if (mode == "none") return w;
  std::vector<int64_t> n(static_cast<size_t>(C), 0);
  for (int64_t y : labels) ++n[static_cast<size_t>(y)];
  for (int64_t c = 0; c < C; ++c)
    if (n[c] > 0) w[c] = static_cast<float>(static_cast<double>(labels.size()) / (static_cast<double>(C) * n[c]));
  return w;
}

json eval_json(const ClassifyEval& e) {
  return {{"n", e.n}, {"loss", e.loss}, {"accuracy", e.accuracy}, {"macro_f1", e.macro_f1}, {"confusion", e.confusion}};
}

// Prints "PART baselines: ..." and returns {"majority": {accuracy, macro_f1}, "bag_of_ngrams": {...}}; on the
// validation part, warns when the model's macro-F1 is not above the best baseline's.
json ClassifyRun::report_baselines(const char* part, const Encoded& e, const ClassifyEval& model) {
  const int64_t C = static_cast<int64_t>(cfg_->labels.size());
  const ClassifierBaselines::Scores s = baselines_.evaluate(e.seqs, e.labels, C);
  std::printf("%s baselines: majority class accuracy %.2f%%  macro-F1 %.4f; bag-of-n-grams accuracy %.2f%%  macro-F1 %.4f\n",
              part, 100 * s.majority.accuracy, s.majority.macro_f1, 100 * s.bow.accuracy, s.bow.macro_f1);
  std::fflush(stdout);
  const double best = std::max(s.majority.macro_f1, s.bow.macro_f1);
  if (std::string(part) == "valid" && model.macro_f1 <= best)
    std::fprintf(stderr, "warning: the model does not beat its baseline on validation (macro-F1 %.4f vs %.4f): "
                 "more data, a longer --time-budget or other settings (docs/defaults.md) may help\n", model.macro_f1, best);
  auto j = [](const ClassifyEval& x) { return json{{"accuracy", x.accuracy}, {"macro_f1", x.macro_f1}}; };
  return {{"majority", j(s.majority)}, {"bag_of_ngrams", j(s.bow)}};
}

void ClassifyRun::finish() {
  if (!train::is_writer()) return;  // under mpirun rank 0 evaluates the best model and writes the results
  loop_.load_best(*this);
  const ClassifyEval v = evaluate_classifier(*model_, va_.seqs, va_.labels);
  json r = {{"steps", loop_.steps()}, {"epochs_completed", loop_.epochs_completed()}, {"train_seconds", loop_.elapsed()},
            {"best_epoch", loop_.best_epoch() + 1}, {"stopped_early", loop_.stopped_early()},
            {"parameters", model_->num_parameters()}, {"threads", num_threads()}, {"labels", cfg_->labels},
            {"train_n", tr_.seqs.size()}, {"vocab", cfg_->vocab.size()}, {"valid", eval_json(v)}};
  if (!init_report_.empty()) r["init_from"] = init_report_;
  if (o_.trial) {  // a --search trial: validation only, nothing on stdout
    io::write_file_atomic(loop_.path("results.json"), r.dump(2) + "\n");
    return;
  }
  std::printf("valid: accuracy %.2f%%  macro-F1 %.4f  (%lld sentences)\n", 100 * v.accuracy, v.macro_f1,
              static_cast<long long>(v.n));
  std::fflush(stdout);
  r["baselines"]["valid"] = report_baselines("valid", va_, v);
  if (!te_.seqs.empty()) {
    const ClassifyEval t = evaluate_classifier(*model_, te_.seqs, te_.labels);
    r["test"] = eval_json(t);
    std::printf("test: accuracy %.2f%%  macro-F1 %.4f  (%lld sentences)\n", 100 * t.accuracy, t.macro_f1,
                static_cast<long long>(t.n));
    r["baselines"]["test"] = report_baselines("test", te_, t);
  }
  std::fflush(stdout);
  io::write_file_atomic(loop_.path("results.json"), r.dump(2) + "\n");
}

ClassifyOutcome ClassifyRun::run() {
  loop_.check_options();
  load_sets();
  if (loop_.resumed()) {
    train::LoadedCheckpoint ck = loop_.read_resume();
    cfg_ = std::make_unique<ClassifierConfig>(ClassifierConfig::from_json(ck.config_json, o_.resume));
    Rng init(o_.seed);
    model_ = std::make_unique<TextClassifier>(*cfg_, init);
    loop_.resume(ck, *this);
  } else {
    build_config();
    Rng init(o_.seed);
    model_ = std::make_unique<TextClassifier>(*cfg_, init);
    if (!o_.init_from.empty()) report_init(init_classifier_from_lm(*model_, o_.init_from, false), o_.init_from);
    if (!o_.init_from_reverse.empty()) {
      RC_CHECK(o_.bidirectional, "--init-from-reverse", "needs --bidirectional (it initialises the reverse direction)");
      report_init(init_classifier_from_lm(*model_, o_.init_from_reverse, true), o_.init_from_reverse);
    }
    loop_.fresh(*this, o_.optimizer, o_.lr);
  }
  encode_sets();
  class_weights_ = class_weights(tr_.labels, static_cast<int64_t>(cfg_->labels.size()), o_.class_weight);
  baselines_ = ClassifierBaselines::fit(tr_.seqs, tr_.labels, va_.seqs, va_.labels,
                                        static_cast<int64_t>(cfg_->vocab.size()), static_cast<int64_t>(cfg_->labels.size()));
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s classifier (%s level, %s pooling): vocabulary %zu, %zu classes, train %zu / valid %zu / test %zu; %lld parameters, %d thread%s",
                loop_.resumed() ? "resuming" : "training", cfg_->chars ? "char" : "word", pooling_name(cfg_->pooling),
                cfg_->vocab.size(), cfg_->labels.size(), tr_.seqs.size(), va_.seqs.size(), te_.seqs.size(),
                static_cast<long long>(model_->num_parameters()), num_threads(), num_threads() == 1 ? "" : "s");
  if (loop_.run(*this, buf) == LoopOutcome::stopped) return ClassifyOutcome::stopped;
  finish();
  return ClassifyOutcome::finished;
}

}  // namespace

ClassifyOutcome train_classifier(const ClassifyTrainOptions& o) {
  if (o.search > 0) return search_classifier(o);
  return ClassifyRun(o).run();
}

}  // namespace recurrent::tasks
