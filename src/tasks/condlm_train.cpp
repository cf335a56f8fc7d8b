// `recurrent train condlm`: `label<TAB>sentence` lines → word vocabulary and label set → conditional
// LM → minibatches of whole sentences on tasks/sentence_loop.h (validation perplexity each epoch,
// best/last checkpoints, metrics CSV, Ctrl-C / --max-steps, exact resume) → DIR/results.json.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "recurrent/train/dist.h"
#include "tasks/ngram_json.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/utf8.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/baselines.h"
#include "recurrent/tasks/condlm.h"
#include "tasks/layer_options.h"
#include "tasks/sentence_loop.h"

namespace recurrent::tasks {

namespace {

using nlohmann::json;

SentenceLoopOptions loop_options(const CondLmTrainOptions& o) {
  SentenceLoopOptions l = common_loop_options(o, "condlm");
  l.order_stream = 0x636f6e646c6dull;  // "condlm"
  l.metric = "neg_loss";               // −(validation nats per token): higher is better
  l.patience = o.patience;
  return l;
}

class CondLmRun : public SentenceTask {
 public:
  explicit CondLmRun(const CondLmTrainOptions& o) : o_(o), loop_(loop_options(o)) {}
  CondLmOutcome run();

  Module& model() override { return *model_; }
  std::string config_json() const override { return cfg_->to_json(); }
  int64_t train_items() const override { return static_cast<int64_t>(tr_.size()); }
  Var batch_loss(const std::vector<size_t>& items) override;
  double batch_weight(const std::vector<size_t>& items) const override {  // the mean is over predicted tokens
    double n = 0;
    for (size_t i : items) n += static_cast<double>(tr_[i].ids.size() - 1);
    return n;
  }
  ValidScore validate() override;
  std::vector<std::pair<std::string, Rng*>> rngs() override {
    return {{"dropout_rng", &model_->dropout_rng()}, {"rnn_dropout_rng", &model_->rnn().dropout_rng()}};
  }

 private:
  void load_sets();
  void build_config();
  std::vector<CondSentence> encode(const data::LabeledSet& set) const;
  void finish();

  CondLmTrainOptions o_;
  SentenceLoop loop_;
  data::LabeledSet train_, valid_, test_;
  std::unique_ptr<CondLmConfig> cfg_;
  std::unique_ptr<CondLanguageModel> model_;
  std::vector<CondSentence> tr_, va_, te_;
  NgramLmBaseline base_;  // unigram and bigram baselines of the training sentences (λ on validation)

 public:
  io::NamedTensors extra_tensors() const override {  // `recurrent eval` scores them on any file
    io::NamedTensors t;
    if (base_.defined()) base_.append_tensors(t, "baseline.lm.");
    return t;
  }
};

void CondLmRun::load_sets() {
  const data::LabeledSet all = data::read_labeled(o_.data, data::TextFormat::tsv);
  for (size_t i = 0; i < all.items.size(); ++i) {  // i % 10 == 9 → test, == 8 → valid (unless given)
    const size_t r = i % 10;
    if (o_.test.empty() && r == 9) test_.items.push_back(all.items[i]);
    else if (o_.valid.empty() && r == 8) valid_.items.push_back(all.items[i]);
    else train_.items.push_back(all.items[i]);
  }
  train_.source = valid_.source = test_.source = all.source;
  if (!o_.valid.empty()) valid_ = data::read_labeled(o_.valid, data::TextFormat::tsv);
  if (!o_.test.empty()) test_ = data::read_labeled(o_.test, data::TextFormat::tsv);
  // Conditioning on one label is no condition: the same checks as a classifier's training data.
  if (o_.conditioned) data::check_classes(train_, "the training data");
  RC_CHECK(!train_.items.empty(), train_.source, "the training data is empty (no labelled lines)");
  RC_CHECK(!valid_.items.empty(), valid_.source, "no validation sentences");
}

void CondLmRun::build_config() {
  std::u32string text;
  for (const data::LabeledText& it : train_.items) {
    text += data::utf8_decode(it.text, train_.source + ":" + std::to_string(it.line));
    text += U'\n';
  }
  data::WordVocabOptions wo;
  wo.min_count = o_.min_count, wo.max_size = o_.max_vocab, wo.lower = o_.lower;
  cfg_ = std::make_unique<CondLmConfig>();
  cfg_->vocab = data::Vocab::build_words(text, wo);
  cfg_->conditioned = o_.conditioned;
  cfg_->labels = o_.conditioned ? data::LabelSet::from(train_).names() : std::vector<std::string>{"<none>"};
  cfg_->layers = layer_specs(o_.cells, o_.hidden, o_.layers, o_.recurrent_dropout, o_.zoneout);
  cfg_->embed = o_.embed > 0 ? o_.embed : cfg_->layers[0].hidden;
  cfg_->label_embed = o_.label_embed;
  cfg_->dropout = static_cast<float>(o_.dropout);
  cfg_->validate();
}

std::vector<CondSentence> CondLmRun::encode(const data::LabeledSet& set) const {
  std::vector<CondSentence> out;
  for (const data::LabeledText& it : set.items)
    out.push_back(model_->encode(it.label, it.text, set.source + ":" + std::to_string(it.line)));
  return out;
}

Var CondLmRun::batch_loss(const std::vector<size_t>& items) {
  std::vector<const CondSentence*> bs;
  for (size_t i : items) bs.push_back(&tr_[i]);
  Var logits = model_->forward(bs);  // [T, B, V]
  const int64_t T = logits.value().shape()[0], B = static_cast<int64_t>(items.size());
  std::vector<int64_t> targets(static_cast<size_t>(T * B), -100);  // padding ignored
  for (int64_t b = 0; b < B; ++b)
    for (size_t t = 1; t < bs[b]->ids.size(); ++t) targets[(t - 1) * B + b] = bs[b]->ids[t];
  return cross_entropy(logits, targets);
}

ValidScore CondLmRun::validate() {
  const CondLmEval v = evaluate_condlm(*model_, va_);
  char buf[64];
  std::snprintf(buf, sizeof buf, "ppl %.2f", v.perplexity());
  return {-v.loss_nats, v.loss_nats, buf};
}

json eval_json(const CondLmEval& e) {
  return {{"sentences", e.sentences}, {"tokens", e.tokens}, {"loss_nats", e.loss_nats}, {"perplexity", e.perplexity()}};
}

void CondLmRun::finish() {
  if (!train::is_writer()) return;  // under mpirun rank 0 evaluates the best model and writes the results
  loop_.load_best(*this);
  const CondLmEval v = evaluate_condlm(*model_, va_);
  json r = {{"conditioned", cfg_->conditioned}, {"labels", cfg_->labels}, {"vocabulary", cfg_->vocab.size()},
            {"steps", loop_.steps()}, {"epochs_completed", loop_.epochs_completed()}, {"train_seconds", loop_.elapsed()},
            {"parameters", model_->num_parameters()}, {"threads", num_threads()}, {"train_sentences", tr_.size()},
            {"valid", eval_json(v)}};
  std::printf("valid: perplexity %.3f on %lld tokens\n", v.perplexity(), static_cast<long long>(v.tokens));
  // Unigram and bigram baselines (tasks/baselines.h) of the training sentences, on the same targets.
  const std::vector<int64_t> va = condlm_token_stream(va_);
  const NgramLmBaseline& base = base_;
  auto baselines = [&](const std::vector<int64_t>& ids, const char* part) {
    const double u = base.unigram_nats(ids), b = base.bigram_nats(ids);
    std::printf("%s baselines: unigram perplexity %.3f, bigram %.3f\n", part, std::exp(u), std::exp(b));
    r["baselines"][part] = detail::ngram_scores_json(u, b);
    return b;
  };
  const double vb = baselines(va, "valid");
  r["baselines"]["bigram_lambda"] = base.lambda();
  if (v.loss_nats >= vb)
    std::fprintf(stderr, "warning: the model does not beat its bigram baseline on validation (perplexity %.3f vs %.3f): "
                 "a longer --time-budget or other settings may help\n", v.perplexity(), std::exp(vb));
  if (!te_.empty()) {
    const CondLmEval t = evaluate_condlm(*model_, te_);
    r["test"] = eval_json(t);
    std::printf("test: perplexity %.3f on %lld tokens\n", t.perplexity(), static_cast<long long>(t.tokens));
    baselines(condlm_token_stream(te_), "test");
  }
  std::fflush(stdout);
  io::write_file_atomic(loop_.path("results.json"), r.dump(2) + "\n");
}

CondLmOutcome CondLmRun::run() {
  loop_.check_options();
  load_sets();
  if (loop_.resumed()) {
    train::LoadedCheckpoint ck = loop_.read_resume();
    cfg_ = std::make_unique<CondLmConfig>(CondLmConfig::from_json(ck.config_json, o_.resume));
    Rng init(o_.seed);
    model_ = std::make_unique<CondLanguageModel>(*cfg_, init);
    loop_.resume(ck, *this);
  } else {
    build_config();
    Rng init(o_.seed);
    model_ = std::make_unique<CondLanguageModel>(*cfg_, init);
    loop_.fresh(*this, o_.optimizer, o_.lr);
  }
  tr_ = encode(train_), va_ = encode(valid_), te_ = encode(test_);
  base_ = NgramLmBaseline::fit(condlm_token_stream(tr_), condlm_token_stream(va_), cfg_->vocab.size());  // deterministic
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s %s LM: vocabulary %lld, %zu labels, train %zu / valid %zu / test %zu sentences; %lld parameters, %d thread%s",
                loop_.resumed() ? "resuming" : "training", cfg_->conditioned ? "label-conditioned" : "unconditioned",
                static_cast<long long>(cfg_->vocab.size()), cfg_->labels.size(), tr_.size(), va_.size(), te_.size(),
                static_cast<long long>(model_->num_parameters()), num_threads(), num_threads() == 1 ? "" : "s");
  if (loop_.run(*this, buf) == LoopOutcome::stopped) return CondLmOutcome::stopped;
  finish();
  return CondLmOutcome::finished;
}

}  // namespace

std::vector<int64_t> condlm_token_stream(const std::vector<CondSentence>& set) {
  std::vector<int64_t> s;
  for (const CondSentence& c : set) s.insert(s.end(), c.ids.begin() + (s.empty() ? 0 : 1), c.ids.end());
  return s;
}

CondLmOutcome train_condlm(const CondLmTrainOptions& o) { return CondLmRun(o).run(); }

}  // namespace recurrent::tasks
