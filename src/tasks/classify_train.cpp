// `recurrent train classify`: labelled sentences → vocabulary → classifier → minibatch training with
// validation each epoch, best/last checkpoints, metrics CSV, Ctrl-C / --max-steps and resume.
//
// Resume is exact: each epoch's order is a permutation drawn from Rng(seed, stream 0x636c..+epoch),
// so the last checkpoint needs only the position (epoch, batch), the optimizer state and the dropout
// RNG states to continue with the same steps as an uninterrupted run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/optim/adagrad.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/rmsprop.h"
#include "recurrent/optim/sgd.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/loop.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Encoded {
  std::vector<std::vector<int64_t>> seqs;
  std::vector<int64_t> labels;
};

struct Position {
  int64_t step = 0, epoch = 0, batch = 0;
  double elapsed = 0.0, best_valid = -1.0, best_loss = INFINITY;
  bool best_saved = false;
  int64_t best_epoch = -1;  // 0-based epoch of best.safetensors (for --patience)
};

// train::make_optimizer plus an explicit weight decay (wd < 0: the optimizer's own default, i.e. 0,
// or PyTorch's 1e-2 for adamw).
std::unique_ptr<Optimizer> make_classify_optimizer(const std::string& name, const NamedParams& params, double lr,
                                                   double wd) {
  if (wd < 0) return train::make_optimizer(name, params, lr);
  RC_CHECK(std::isfinite(wd), "--weight-decay", "expected a finite value >= 0, got ", wd);
  RC_CHECK(std::isfinite(lr) && lr > 0, "--lr", "expected a positive learning rate, got ", lr);
  if (name == "adam" || name == "adamw") {
    AdamOptions a = name == "adam" ? AdamOptions{} : adamw_defaults();
    a.lr = lr, a.weight_decay = wd;
    if (name == "adam") return std::make_unique<Adam>(params, a);
    return std::make_unique<AdamW>(params, a);
  }
  if (name == "sgd") {
    SgdOptions a;
    a.lr = lr, a.weight_decay = wd;
    return std::make_unique<Sgd>(params, a);
  }
  if (name == "rmsprop") {
    RmspropOptions a;
    a.lr = lr, a.weight_decay = wd;
    return std::make_unique<Rmsprop>(params, a);
  }
  if (name == "adagrad") {
    AdagradOptions a;
    a.lr = lr, a.weight_decay = wd;
    return std::make_unique<Adagrad>(params, a);
  }
  return train::make_optimizer(name, params, lr);  // its error names the known optimizers
}

class ClassifyRun {
 public:
  explicit ClassifyRun(const ClassifyTrainOptions& o) : o_(o) {}
  ClassifyOutcome run();

 private:
  void load_sets();
  void build_config();
  void setup_resume();
  void encode_sets();
  std::vector<size_t> order(int64_t epoch) const;
  bool should_stop() const;
  bool patience_exhausted();
  void train_batch(const std::vector<size_t>& perm, int64_t nb);
  void end_epoch(bool partial);
  void save(const std::string& file, bool with_state);
  void finish();
  void report_init(const LmInitReport& r, const std::string& from);
  std::string path(const char* f) const { return (fs::path(o_.out) / f).string(); }

  ClassifyTrainOptions o_;
  data::LabeledSet train_, valid_, test_;
  std::unique_ptr<ClassifierConfig> cfg_;
  std::unique_ptr<TextClassifier> model_;
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<train::MetricsCsv> csv_;
  train::Progress progress_{10.0};
  Encoded tr_, va_, te_;
  Position pos_;
  double acc_loss_ = 0, acc_norm_ = 0, ema_loss_ = NAN;
  int64_t acc_steps_ = 0;
  std::string init_report_;  // what --init-from copied (results.json)
};

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
  std::vector<std::pair<std::string, int64_t>> byf(counts.begin(), counts.end());
  std::stable_sort(byf.begin(), byf.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  cfg_->vocab = {"<unk>"};
  for (const auto& [tok, n] : byf) {
    if (n < o_.min_count || (o_.max_vocab > 0 && static_cast<int64_t>(cfg_->vocab.size()) >= o_.max_vocab)) break;
    if (tok != "<unk>") cfg_->vocab.push_back(tok);
  }
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
  cfg_->layers = layer_specs(o_.cells, o_.hidden, o_.layers);
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
  enc(test_, te_);
}

void ClassifyRun::setup_resume() {
  const std::string file = (fs::path(o_.resume) / "last.safetensors").string();
  RC_CHECK(fs::exists(file), "--resume", "no last.safetensors in ", o_.resume);
  train::LoadedCheckpoint ck = train::read_checkpoint(file);
  RC_CHECK(!ck.train_json.empty(), file, "weights-only file: cannot resume training from it");
  cfg_ = std::make_unique<ClassifierConfig>(ClassifierConfig::from_json(ck.config_json, file));
  Rng init(o_.seed);
  model_ = std::make_unique<TextClassifier>(*cfg_, init);
  train::load_model_weights(ck, *model_);
  try {
    json t = json::parse(ck.train_json);
    opt_ = make_classify_optimizer(t.at("optimizer").get<std::string>(), model_->named_parameters(),
                                   std::stod(t.at("lr").get<std::string>()),
                                   std::stod(t.value("weight_decay", std::string("-1"))));
    opt_->load_state(ck.optim);
    pos_ = {t.at("step").get<int64_t>(), t.at("epoch").get<int64_t>(), t.at("batch").get<int64_t>(),
            std::stod(t.at("elapsed").get<std::string>()), std::stod(t.at("best_valid").get<std::string>()),
            std::stod(t.at("best_loss").get<std::string>()), t.at("best_saved").get<bool>(),
            t.value("best_epoch", int64_t{-1})};
    o_.seed = t.at("seed").get<uint64_t>();
    train::rng_state_from_json(model_->dropout_rng(), t.at("dropout_rng").dump(), file);
    train::rng_state_from_json(model_->rnn().dropout_rng(), t.at("rnn_dropout_rng").dump(), file);
  } catch (const json::exception& e) {
    throw Error(file, std::string("bad training state: ") + e.what());
  }
}

void ClassifyRun::save(const std::string& file, bool with_state) {
  train::CheckpointData d;
  d.config_json = cfg_->to_json();
  if (with_state) {
    auto ds = [](double v) { return train::fmt_num(v, 17); };
    json t = {{"optimizer", opt_->kind()}, {"lr", ds(opt_->lr())}, {"step", pos_.step}, {"epoch", pos_.epoch},
              {"batch", pos_.batch}, {"elapsed", ds(pos_.elapsed)}, {"best_valid", ds(pos_.best_valid)},
              {"best_loss", ds(pos_.best_loss)}, {"best_saved", pos_.best_saved}, {"seed", o_.seed},
              {"best_epoch", pos_.best_epoch}, {"weight_decay", ds(o_.weight_decay)},
              {"threads", num_threads()},
              {"dropout_rng", json::parse(train::rng_state_to_json(model_->dropout_rng()))},
              {"rnn_dropout_rng", json::parse(train::rng_state_to_json(model_->rnn().dropout_rng()))}};
    d.train_json = t.dump();
  }
  train::save_checkpoint(file, *model_, with_state ? opt_.get() : nullptr, d);
}

std::vector<size_t> ClassifyRun::order(int64_t epoch) const {
  std::vector<size_t> p(tr_.seqs.size());
  for (size_t i = 0; i < p.size(); ++i) p[i] = i;
  Rng r(o_.seed, 0x636c617373ull + static_cast<uint64_t>(epoch));
  for (size_t i = p.size(); i > 1; --i) std::swap(p[i - 1], p[r.below(i)]);  // Fisher–Yates
  return p;
}

// --patience N: the last N completed epochs (pos_.epoch of them done) brought no better validation.
bool ClassifyRun::patience_exhausted() {
  if (o_.patience <= 0 || pos_.best_epoch < 0 || pos_.epoch - 1 - pos_.best_epoch < o_.patience) return false;
  if (!o_.quiet)
    progress_.line("early stop: no better validation accuracy in " + std::to_string(o_.patience) + " epochs");
  return true;
}

bool ClassifyRun::should_stop() const {
  if (train::interrupted()) return true;
  if (o_.max_steps > 0 && pos_.step >= o_.max_steps) return true;
  return o_.time_budget > 0 && pos_.elapsed >= o_.time_budget;
}

// One optimisation step on batch pos_.batch of this epoch's order `perm` (nb batches per epoch).
void ClassifyRun::train_batch(const std::vector<size_t>& perm, int64_t nb) {
  std::vector<const std::vector<int64_t>*> bs;
  std::vector<int64_t> ys;
  const int64_t end = std::min<int64_t>((pos_.batch + 1) * o_.batch, static_cast<int64_t>(perm.size()));
  for (int64_t i = pos_.batch * o_.batch; i < end; ++i) {
    bs.push_back(&tr_.seqs[perm[i]]);
    ys.push_back(tr_.labels[perm[i]]);
  }
  train::StepStats st =
      train::train_step([&] { return cross_entropy(model_->forward(bs), ys); }, *opt_, o_.clip, pos_.step + 1);
  ++pos_.step, ++pos_.batch;
  acc_loss_ += st.loss, acc_norm_ += st.grad_norm, ++acc_steps_;
  ema_loss_ = std::isnan(ema_loss_) ? st.loss : 0.95 * ema_loss_ + 0.05 * st.loss;
  if (!o_.quiet) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "epoch %lld %3.0f%%  step %lld  loss %.4f", static_cast<long long>(pos_.epoch + 1),
                  100.0 * pos_.batch / nb, static_cast<long long>(pos_.step), ema_loss_);
    progress_.update(buf);
  }
}

void ClassifyRun::end_epoch(bool partial) {
  const ClassifyEval v = evaluate_classifier(*model_, va_.seqs, va_.labels);
  RC_CHECK(std::isfinite(v.loss), "validation", "the validation loss is ", v.loss, " after step ", pos_.step);
  const double n = std::max<int64_t>(acc_steps_, 1);
  csv_->row({std::to_string(pos_.step), std::to_string(pos_.epoch), acc_steps_ ? train::fmt_num(acc_loss_ / n) : "",
             train::fmt_num(v.loss), train::fmt_num(v.accuracy), acc_steps_ ? train::fmt_num(acc_norm_ / n) : "",
             train::fmt_num(opt_->lr()), train::fmt_num(pos_.elapsed, 5)});
  acc_loss_ = acc_norm_ = 0, acc_steps_ = 0;
  // Best: higher validation accuracy, ties broken by lower validation loss.
  const bool better = v.accuracy > pos_.best_valid || (v.accuracy == pos_.best_valid && v.loss < pos_.best_loss);
  if (better) pos_.best_valid = v.accuracy, pos_.best_loss = v.loss, pos_.best_epoch = pos_.epoch;
  if (!o_.quiet) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "epoch %lld%s  step %lld  train loss %.4f  valid loss %.4f  acc %.2f%%  F1 %.3f%s  %s",
                  static_cast<long long>(pos_.epoch + 1), partial ? " (partial)" : "", static_cast<long long>(pos_.step),
                  ema_loss_, v.loss, 100 * v.accuracy, v.macro_f1, better ? " *" : "",
                  train::format_duration(pos_.elapsed).c_str());
    progress_.line(buf);
  }
  if (better) {
    save(path("best.safetensors"), false);
    pos_.best_saved = true;
  }
}

void ClassifyRun::report_init(const LmInitReport& r, const std::string& from) {
  init_report_ += std::string(init_report_.empty() ? "" : "; ") + from + ": " + std::to_string(r.rows) + " of " +
                  std::to_string(r.vocab) + " embedding rows, " + std::to_string(r.tensors) + " recurrent tensors";
  if (!o_.quiet) progress_.line("initialised from " + from + ": " + std::to_string(r.rows) + " of " +
                                std::to_string(r.vocab) + " embedding rows, " + std::to_string(r.tensors) +
                                " recurrent tensors");
}

json eval_json(const ClassifyEval& e) {
  return {{"n", e.n}, {"loss", e.loss}, {"accuracy", e.accuracy}, {"macro_f1", e.macro_f1}, {"confusion", e.confusion}};
}

void ClassifyRun::finish() {
  if (pos_.best_saved) train::load_model_weights(train::read_checkpoint(path("best.safetensors")), *model_);
  const ClassifyEval v = evaluate_classifier(*model_, va_.seqs, va_.labels);
  json r = {{"steps", pos_.step}, {"epochs_completed", pos_.epoch}, {"train_seconds", pos_.elapsed},
            {"parameters", model_->num_parameters()}, {"threads", num_threads()}, {"labels", cfg_->labels},
            {"train_n", tr_.seqs.size()}, {"vocab", cfg_->vocab.size()}, {"valid", eval_json(v)}};
  if (!init_report_.empty()) r["init_from"] = init_report_;
  std::printf("valid: accuracy %.2f%%  macro-F1 %.4f  (%lld sentences)\n", 100 * v.accuracy, v.macro_f1,
              static_cast<long long>(v.n));
  if (!te_.seqs.empty()) {
    const ClassifyEval t = evaluate_classifier(*model_, te_.seqs, te_.labels);
    r["test"] = eval_json(t);
    std::printf("test: accuracy %.2f%%  macro-F1 %.4f  (%lld sentences)\n", 100 * t.accuracy, t.macro_f1,
                static_cast<long long>(t.n));
  }
  std::fflush(stdout);
  io::write_file_atomic(path("results.json"), r.dump(2) + "\n");
}

ClassifyOutcome ClassifyRun::run() {
  if (o_.out.empty()) o_.out = o_.resume;
  RC_CHECK(!o_.out.empty(), "--out", "give an output directory for checkpoints and metrics");
  RC_CHECK(o_.epochs > 0 || o_.time_budget > 0 || o_.max_steps > 0, "--epochs", "give --epochs N or --time-budget T");
  RC_CHECK(o_.batch >= 1, "--batch", "expected >= 1, got ", o_.batch);
  RC_CHECK(o_.clip >= 0, "--clip", "expected >= 0 (0: no clipping), got ", o_.clip);
  RC_CHECK(o_.patience >= 0, "--patience", "expected >= 0 (0: off), got ", o_.patience);
  const bool resume = !o_.resume.empty();
  load_sets();
  if (resume) {
    setup_resume();
  } else {
    build_config();
    Rng init(o_.seed);
    model_ = std::make_unique<TextClassifier>(*cfg_, init);
    if (!o_.init_from.empty()) report_init(init_classifier_from_lm(*model_, o_.init_from, false), o_.init_from);
    if (!o_.init_from_reverse.empty()) {
      RC_CHECK(o_.bidirectional, "--init-from-reverse", "needs --bidirectional (it initialises the reverse direction)");
      report_init(init_classifier_from_lm(*model_, o_.init_from_reverse, true), o_.init_from_reverse);
    }
    opt_ = make_classify_optimizer(o_.optimizer, model_->named_parameters(), o_.lr, o_.weight_decay);
  }
  encode_sets();
  fs::create_directories(o_.out);
  csv_ = std::make_unique<train::MetricsCsv>(
      path("metrics.csv"),
      std::vector<std::string>{"step", "epoch", "train_loss", "valid_loss", "valid_accuracy", "grad_norm", "lr", "elapsed_s"},
      resume, pos_.step);
  progress_ = train::Progress(o_.log_every);
  if (!o_.quiet) {
    char buf[320];
    std::snprintf(buf, sizeof buf, "%s classifier (%s level, %s pooling): vocabulary %zu, %zu classes, train %zu / valid %zu / test %zu; %lld parameters, %d threads",
                  resume ? "resuming" : "training", cfg_->chars ? "char" : "word", pooling_name(cfg_->pooling),
                  cfg_->vocab.size(), cfg_->labels.size(), tr_.seqs.size(), va_.seqs.size(), te_.seqs.size(),
                  static_cast<long long>(model_->num_parameters()), num_threads());
    progress_.line(buf);
  }
  train::clear_interrupt();
  train::install_interrupt_handler();
  model_->train();
  const auto t0 = Clock::now();
  const double elapsed0 = pos_.elapsed;
  auto tick = [&] { pos_.elapsed = elapsed0 + std::chrono::duration<double>(Clock::now() - t0).count(); };
  const int64_t nb = (static_cast<int64_t>(tr_.seqs.size()) + o_.batch - 1) / o_.batch;
  while ((o_.epochs == 0 || pos_.epoch < o_.epochs) && !patience_exhausted()) {
    const std::vector<size_t> perm = order(pos_.epoch);
    bool stop = false;
    while (pos_.batch < nb) {
      tick();
      if ((stop = should_stop())) break;
      train_batch(perm, nb);
    }
    tick();
    if (stop && (train::interrupted() || (o_.max_steps > 0 && pos_.step >= o_.max_steps))) {
      save(path("last.safetensors"), true);
      progress_.line(std::string(train::interrupted() ? "interrupted" : "stopped at --max-steps") + " at step " +
                     std::to_string(pos_.step) + "; saved " + path("last.safetensors") + " (continue with --resume " + o_.out + ")");
      return ClassifyOutcome::stopped;
    }
    end_epoch(stop);
    if (stop) {
      save(path("last.safetensors"), true);
      break;
    }
    ++pos_.epoch;
    pos_.batch = 0;
    save(path("last.safetensors"), true);
  }
  finish();
  return ClassifyOutcome::finished;
}

}  // namespace

ClassifyOutcome train_classifier(const ClassifyTrainOptions& o) { return ClassifyRun(o).run(); }

}  // namespace recurrent::tasks
