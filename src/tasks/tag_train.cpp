// `recurrent train tag`: tagged sentences → word / suffix vocabularies and the tag set → tagger →
// minibatch training on tasks/sentence_loop.h (validation each epoch, best/last checkpoints, metrics
// CSV, Ctrl-C / --max-steps, exact resume), then validation and test figures beside the
// most-frequent-tag baseline in DIR/results.json.
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "recurrent/train/dist.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/vocab.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/tag.h"
#include "tasks/layer_options.h"
#include "tasks/sentence_loop.h"

namespace recurrent::tasks {

namespace {

using nlohmann::json;

SentenceLoopOptions loop_options(const TagTrainOptions& o) {
  SentenceLoopOptions l = common_loop_options(o, "tag");
  l.order_stream = 0x746167676572ull;  // "tagger"
  l.metric = "score";                  // span F1 for span tagsets, else token accuracy
  l.patience = o.patience;
  return l;
}

// Tokens counted `min_count` times or more, count descending, ties by string, after <unk>.
std::vector<std::string> frequent(const std::map<std::string, int64_t>& counts, int64_t min_count, int64_t max_size) {
  return data::frequent_tokens(counts, {"<unk>"}, min_count, max_size);
}

class TagRun : public SentenceTask {
 public:
  explicit TagRun(const TagTrainOptions& o) : o_(o), loop_(loop_options(o)) {}
  TagOutcome run();

  Module& model() override { return *model_; }
  std::string config_json() const override { return cfg_->to_json(); }
  int64_t train_items() const override { return static_cast<int64_t>(tr_.size()); }
  Var batch_loss(const std::vector<size_t>& items) override;
  double batch_weight(const std::vector<size_t>& items) const override {  // the mean is over tagged tokens
    double n = 0;
    for (size_t i : items) n += static_cast<double>(tr_tags_[i].size());
    return n;
  }
  ValidScore validate() override;
  std::vector<std::pair<std::string, Rng*>> rngs() override {
    return {{"dropout_rng", &model_->dropout_rng()}, {"rnn_dropout_rng", &model_->rnn().dropout_rng()}};
  }
  std::string baseline_json() const override { return baseline_ ? baseline_->to_json() : ""; }

 private:
  void load_sets();
  void build_config();
  json report(const data::TaggedSet& set, const char* name);
  void finish();

  TagTrainOptions o_;
  SentenceLoop loop_;
  data::TaggedSet train_, valid_, test_;
  std::unique_ptr<TaggerConfig> cfg_;
  std::unique_ptr<Tagger> model_;
  std::vector<TaggerInput> tr_;
  std::vector<std::vector<int64_t>> tr_tags_;
  std::unique_ptr<MostFrequentTag> baseline_;  // fitted on train_ (a resume refits the same)
};

void TagRun::load_sets() {
  const data::TagFormat f = data::parse_tag_format(o_.format);
  const data::TaggedSet all = data::read_tagged(o_.data, f);
  // Split by position: sentence i % 10 == 9 → test, == 8 → valid (each only when that file is not given).
  for (size_t i = 0; i < all.items.size(); ++i) {
    const size_t r = i % 10;
    if (o_.test.empty() && r == 9) test_.items.push_back(all.items[i]);
    else if (o_.valid.empty() && r == 8) valid_.items.push_back(all.items[i]);
    else train_.items.push_back(all.items[i]);
  }
  train_.source = valid_.source = test_.source = all.source;
  if (!o_.valid.empty()) valid_ = data::read_tagged(o_.valid, f);
  if (!o_.test.empty() && !o_.trial) test_ = data::read_tagged(o_.test, f);  // a --search trial never reads it
  data::check_tagged(train_, "the training data");
  RC_CHECK(!valid_.items.empty(), valid_.source, "no validation sentences");
}

void TagRun::build_config() {
  std::map<std::string, int64_t> words, suffixes, tags;
  for (const data::TaggedSentence& s : train_.items)
    for (size_t t = 0; t < s.words.size(); ++t) {
      std::string lw = word_suffix(s.words[t], 1 << 30);  // the whole word, lower-cased
      ++words[lw];
      for (int k = 1; k <= 3; ++k) ++suffixes[std::to_string(k) + ":" + word_suffix(s.words[t], k)];
      ++tags[s.tags[t]];
    }
  cfg_ = std::make_unique<TaggerConfig>();
  RC_CHECK(o_.min_count >= 1, "--min-count", "expected >= 1, got ", o_.min_count);
  cfg_->vocab = frequent(words, o_.min_count, o_.max_vocab);
  cfg_->suffixes = frequent(suffixes, o_.min_count, 0);
  for (const auto& [t, n] : tags) cfg_->tags.push_back(t);
  cfg_->layers = layer_specs(o_.cells, o_.hidden, o_.layers, o_.recurrent_dropout, o_.zoneout);
  cfg_->embed = o_.embed;
  cfg_->feature_embed = o_.feature_embed;
  cfg_->bidirectional = o_.bidirectional;
  cfg_->dropout = static_cast<float>(o_.dropout);
  cfg_->validate();
}

Var TagRun::batch_loss(const std::vector<size_t>& items) {
  std::vector<const TaggerInput*> bs;
  for (size_t i : items) bs.push_back(&tr_[i]);
  Var logits = model_->forward(bs);  // [T, B, C]
  const int64_t T = logits.value().shape()[0], B = static_cast<int64_t>(items.size());
  std::vector<int64_t> targets(static_cast<size_t>(T * B), -100);  // padding ignored
  for (int64_t b = 0; b < B; ++b)
    for (size_t t = 0; t < tr_tags_[items[b]].size(); ++t) targets[t * B + b] = tr_tags_[items[b]][t];
  return cross_entropy(logits, targets);
}

ValidScore TagRun::validate() {
  const TagEval v = evaluate_tagger(*model_, valid_);
  char buf[96];
  std::snprintf(buf, sizeof buf, "acc %.2f%%  %s %.4f", 100 * v.accuracy, v.spans ? "span F1" : "macro-F1", v.f1());
  return {v.spans ? v.f1() : v.accuracy, v.loss, buf};
}

json TagRun::report(const data::TaggedSet& set, const char* name) {
  const TagEval e = evaluate_tagger(*model_, set);
  const TagEval base = tag_metrics([&] {
    std::vector<std::vector<std::string>> g;
    for (const auto& s : set.items) g.push_back(s.tags);
    return g;
  }(), baseline_->predict(set));
  // Accuracy on the tokens whose word is not in the vocabulary (read as <unk>).
  int64_t oov = 0, oov_right = 0;
  for (size_t s = 0; s < set.items.size(); ++s) {
    const TaggerInput in = model_->encode(set.items[s].words);
    for (size_t t = 0; t < set.items[s].words.size(); ++t)
      if (in[5 * t] == 0) ++oov, oov_right += e.predictions[s][t] == set.items[s].tags[t];
  }
  json j = {{"sentences", e.sentences}, {"tokens", e.tokens}, {"loss", e.loss}, {"accuracy", e.accuracy},
            {"f1", e.f1()}, {"f1_kind", e.spans ? "span" : "macro"}, {"macro_f1", e.macro_f1},
            {"unseen_tags", e.unseen}, {"oov_tokens", oov},
            {"oov_accuracy", oov ? static_cast<double>(oov_right) / oov : 0.0},
            {"baseline_accuracy", base.accuracy}, {"baseline_f1", base.f1()},
            {"score", e.spans ? e.f1() : e.accuracy}};  // what early stopping and --search rank by
  if (e.spans) {
    j["precision"] = e.span.precision(), j["recall"] = e.span.recall();
    j["spans"] = {{"gold", e.span.gold}, {"predicted", e.span.predicted}, {"correct", e.span.correct}};
  }
  std::printf("%s: accuracy %.2f%% (most-frequent-tag baseline %.2f%%; unknown words %.2f%% of %lld)", name,
              100 * e.accuracy, 100 * base.accuracy, oov ? 100.0 * oov_right / oov : 0.0, static_cast<long long>(oov));
  if (e.spans)
    std::printf("  spans P %.4f R %.4f F1 %.4f (baseline F1 %.4f)", e.span.precision(), e.span.recall(), e.span.f1(),
                base.f1());
  std::printf("  (%lld tokens)\n", static_cast<long long>(e.tokens));
  std::fflush(stdout);
  if (std::string(name) == "valid" && e.f1() <= base.f1() && (e.spans || e.accuracy <= base.accuracy))
    std::fprintf(stderr, "warning: the model does not beat its most-frequent-tag baseline on validation (%s %.4f vs %.4f)\n",
                 e.spans ? "span F1" : "accuracy", e.spans ? e.f1() : e.accuracy, e.spans ? base.f1() : base.accuracy);
  if (e.unseen > 0)
    std::fprintf(stderr, "warning: %s: %lld tokens have a tag the training data does not have (counted as errors)\n",
                 set.source.c_str(), static_cast<long long>(e.unseen));
  return j;
}

void TagRun::finish() {
  if (!train::is_writer()) return;  // under mpirun rank 0 evaluates the best model and writes the results
  loop_.load_best(*this);
  json r = {{"steps", loop_.steps()}, {"epochs_completed", loop_.epochs_completed()}, {"train_seconds", loop_.elapsed()},
            {"parameters", model_->num_parameters()}, {"threads", num_threads()}, {"tags", cfg_->tags.size()},
            {"vocabulary", cfg_->vocab.size()}, {"train_sentences", train_.items.size()},
            {"train_tokens", train_.tokens()}, {"best_epoch", loop_.best_epoch() + 1},
            {"stopped_early", loop_.stopped_early()}};
  if (o_.trial) {  // a --search trial: validation only, nothing on stdout
    const TagEval v = evaluate_tagger(*model_, valid_);
    r["valid"] = {{"accuracy", v.accuracy}, {"f1", v.f1()}, {"score", v.spans ? v.f1() : v.accuracy}};
    io::write_file_atomic(loop_.path("results.json"), r.dump(2) + "\n");
    return;
  }
  r["valid"] = report(valid_, "valid");
  if (!test_.items.empty()) r["test"] = report(test_, "test");
  std::fflush(stdout);
  io::write_file_atomic(loop_.path("results.json"), r.dump(2) + "\n");
}

TagOutcome TagRun::run() {
  loop_.check_options();
  load_sets();
  baseline_ = std::make_unique<MostFrequentTag>(train_);
  if (loop_.resumed()) {
    train::LoadedCheckpoint ck = loop_.read_resume();
    cfg_ = std::make_unique<TaggerConfig>(TaggerConfig::from_json(ck.config_json, o_.resume));
    Rng init(o_.seed);
    model_ = std::make_unique<Tagger>(*cfg_, init);
    loop_.resume(ck, *this);
  } else {
    build_config();
    Rng init(o_.seed);
    model_ = std::make_unique<Tagger>(*cfg_, init);
    loop_.fresh(*this, o_.optimizer, o_.lr);
  }
  for (const data::TaggedSentence& s : train_.items) {
    tr_.push_back(model_->encode(s.words));
    tr_tags_.push_back(model_->tag_ids(s.tags));
    for (size_t t = 0; t < s.tags.size(); ++t)  // only after a resume with other data
      RC_CHECK(tr_tags_.back()[t] >= 0, train_.source + ":" + std::to_string(s.line), "tag '", s.tags[t],
               "' is not in the resumed model's tag set");
  }
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s tagger: vocabulary %zu, %zu suffixes, %zu tags, train %zu / valid %zu / test %zu sentences; %lld parameters, %d thread%s",
                loop_.resumed() ? "resuming" : "training", cfg_->vocab.size(), cfg_->suffixes.size(), cfg_->tags.size(),
                train_.items.size(), valid_.items.size(), test_.items.size(),
                static_cast<long long>(model_->num_parameters()), num_threads(), num_threads() == 1 ? "" : "s");
  if (loop_.run(*this, buf) == LoopOutcome::stopped) return TagOutcome::stopped;
  finish();
  return TagOutcome::finished;
}

}  // namespace

TagOutcome train_tagger(const TagTrainOptions& o) {
  if (o.search > 0) return search_tagger(o);
  return TagRun(o).run();
}

}  // namespace recurrent::tasks
