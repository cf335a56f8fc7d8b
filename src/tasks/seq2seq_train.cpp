// `recurrent train seq2seq`: sentence pairs → vocabularies → encoder-decoder → minibatch training
// with teacher forcing, validation (loss and greedy BLEU) each epoch (and every --valid-every
// steps), best/last checkpoints, metrics CSV, Ctrl-C / --max-steps and exact resume.
//
// Batches: each epoch draws a permutation from Rng(seed, stream 0x7332..+epoch), cuts it into pools
// of 16 batches, sorts each pool by target length (less padding), cuts the pools into batches and
// shuffles the batch order with the same generator; so resuming needs only (epoch, batch index).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/train/dist.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/seq2seq.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/loop.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Encoded {
  std::vector<std::vector<int64_t>> src, tgt;
};

struct Position {
  int64_t step = 0, epoch = 0, batch = 0;
  double elapsed = 0.0, best_bleu = -1.0, best_loss = INFINITY;
  bool best_saved = false;
  int64_t best_epoch = -1;  // 0-based epoch of best.safetensors (for --patience); −1: none yet
};

std::string at(const data::ParallelSet& s, const data::TextPair& p) { return s.source + ":" + std::to_string(p.line); }

// Pairs with at most max_len tokens on both sides (0: all).
data::ParallelSet cap_length(const data::ParallelSet& s, int64_t max_len) {
  if (max_len <= 0) return s;
  data::ParallelSet out;
  out.source = s.source;
  for (const data::TextPair& p : s.pairs)
    if (static_cast<int64_t>(seq2seq_tokens(p.source, at(s, p)).size()) <= max_len &&
        static_cast<int64_t>(seq2seq_tokens(p.target, at(s, p)).size()) <= max_len)
      out.pairs.push_back(p);
  return out;
}

class Seq2SeqRun {
 public:
  explicit Seq2SeqRun(const Seq2SeqTrainOptions& o) : o_(o) {}
  Seq2SeqOutcome run();

 private:
  void load_sets();
  void build_config();
  void setup_resume();
  void encode(const data::ParallelSet& s, Encoded& e) const;
  std::vector<std::vector<size_t>> batches(int64_t epoch) const;
  bool should_stop() const;
  // --patience N: the last N completed epochs brought no better validation BLEU.
  bool stopped_early() const {
    return o_.patience > 0 && pos_.best_epoch >= 0 && pos_.epoch - 1 - pos_.best_epoch >= o_.patience;
  }
  void train_batch(const std::vector<size_t>& idx);
  void validate(bool partial);
  void save(const std::string& file, bool with_state);
  void finish();
  void print_start(bool resume);
  const char* attention_label() const { return cfg_->arch == "transformer" ? "multi-head" : attention_name(cfg_->attention); }
  std::string path(const char* f) const { return (fs::path(o_.out) / f).string(); }

  Seq2SeqTrainOptions o_;
  data::ParallelSet train_, valid_, test_;
  std::unique_ptr<Seq2SeqConfig> cfg_;
  std::unique_ptr<Seq2SeqModel> model_;
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<train::MetricsCsv> csv_;
  train::Progress progress_{10.0};
  Encoded tr_;
  Position pos_;
  double acc_loss_ = 0, acc_norm_ = 0, ema_loss_ = NAN;
  int64_t acc_steps_ = 0, tokens_ = 0;
};

void Seq2SeqRun::load_sets() {
  const data::ParallelSet all = data::read_parallel(o_.data);
  train_.source = valid_.source = test_.source = all.source;
  for (size_t i = 0; i < all.pairs.size(); ++i) {  // i % 10 == 9 → test, == 8 → valid (when not given)
    const size_t r = i % 10;
    if (o_.test.empty() && r == 9) test_.pairs.push_back(all.pairs[i]);
    else if (o_.valid.empty() && r == 8) valid_.pairs.push_back(all.pairs[i]);
    else train_.pairs.push_back(all.pairs[i]);
  }
  if (!o_.valid.empty()) valid_ = data::read_parallel(o_.valid);
  if (!o_.test.empty()) test_ = data::read_parallel(o_.test);
  const size_t before = train_.pairs.size();
  train_ = cap_length(train_, o_.max_len);
  RC_CHECK(!train_.pairs.empty(), o_.data, "no training pairs", o_.max_len > 0 ? " with at most --max-len " : "",
           o_.max_len > 0 ? std::to_string(o_.max_len) + " tokens per side (of " + std::to_string(before) + ")" : "");
  valid_ = cap_length(valid_, o_.eval_max_len);
  test_ = cap_length(test_, o_.eval_max_len);
  RC_CHECK(!valid_.pairs.empty(), o_.valid.empty() ? o_.data : o_.valid, "no validation pairs",
           o_.eval_max_len > 0 ? " within --eval-max-len" : "");
}

void Seq2SeqRun::build_config() {
  cfg_ = std::make_unique<Seq2SeqConfig>();
  cfg_->arch = o_.arch;
  std::vector<std::vector<std::string>> s, t;
  for (const data::TextPair& p : train_.pairs) {
    s.push_back(seq2seq_tokens(p.source, at(train_, p)));
    t.push_back(seq2seq_tokens(p.target, at(train_, p)));
  }
  cfg_->src = TokenVocab::build(s, {"<unk>"}, o_.src_vocab, o_.min_count);
  cfg_->tgt = TokenVocab::build(t, {"<unk>", "<bos>", "<eos>"}, o_.tgt_vocab, o_.min_count);
  cfg_->dropout = static_cast<float>(o_.dropout);
  if (o_.arch == "transformer") {
    cfg_->depth = o_.layers, cfg_->d_model = o_.d_model, cfg_->heads = o_.heads, cfg_->ff = o_.ff;
  } else {
    cfg_->layers = layer_specs(o_.cells, o_.hidden, o_.layers, o_.recurrent_dropout, o_.zoneout);
    cfg_->embed = o_.embed > 0 ? o_.embed : cfg_->layers[0].hidden;
    cfg_->bidirectional = o_.bidirectional;
    cfg_->attention = parse_attention(o_.attention);
  }
  cfg_->validate();
}

void Seq2SeqRun::encode(const data::ParallelSet& s, Encoded& e) const {
  for (const data::TextPair& p : s.pairs) {
    e.src.push_back(model_->encode_source(p.source, at(s, p)));
    e.tgt.push_back(model_->encode_target(p.target, at(s, p)));
  }
}

void Seq2SeqRun::setup_resume() {
  const std::string file = (fs::path(o_.resume) / "last.safetensors").string();
  RC_CHECK(fs::exists(file), "--resume", "no last.safetensors in ", o_.resume);
  train::LoadedCheckpoint ck = train::read_checkpoint(file);
  RC_CHECK(!ck.train_json.empty(), file, "weights-only file: cannot resume training from it");
  cfg_ = std::make_unique<Seq2SeqConfig>(Seq2SeqConfig::from_json(ck.config_json, file));
  Rng init(o_.seed);
  model_ = make_seq2seq(*cfg_, init);
  train::load_model_weights(ck, *model_);
  try {
    json t = json::parse(ck.train_json);
    opt_ = train::make_optimizer(t.at("optimizer").get<std::string>(), model_->named_parameters(),
                                 std::stod(t.at("lr").get<std::string>()));
    opt_->load_state(ck.optim);
    pos_ = {io::json_int_at<int64_t>(t, "step"), io::json_int_at<int64_t>(t, "epoch"), io::json_int_at<int64_t>(t, "batch"),
            std::stod(t.at("elapsed").get<std::string>()), std::stod(t.at("best_bleu").get<std::string>()),
            std::stod(t.at("best_loss").get<std::string>()), t.at("best_saved").get<bool>(), io::json_int_or<int64_t>(t, "best_epoch", -1)};
    o_.seed = io::json_int_at<uint64_t>(t, "seed");
    o_.batch = io::json_int_at<int64_t>(t, "batch_size");
    o_.warmup = io::json_int_or<int64_t>(t, "warmup", 0);
    const std::vector<Rng*> rngs = model_->dropout_rngs();
    RC_CHECK(t.at("dropout_rngs").size() == rngs.size(), file, "expected ", rngs.size(), " dropout RNG states");
    for (size_t i = 0; i < rngs.size(); ++i) train::rng_state_from_json(*rngs[i], t.at("dropout_rngs")[i].dump(), file);
  } catch (const json::exception& e) {
    throw Error(file, std::string("bad training state: ") + e.what());
  }
}

void Seq2SeqRun::save(const std::string& file, bool with_state) {
  train::CheckpointData d;
  d.config_json = cfg_->to_json();
  d.command_json = o_.command;
  if (with_state) {
    auto ds = [](double v) { return train::fmt_num(v, 17); };
    json rngs = json::array();
    for (Rng* r : model_->dropout_rngs()) rngs.push_back(json::parse(train::rng_state_to_json(*r)));
    json t = {{"optimizer", opt_->kind()}, {"lr", ds(opt_->lr())}, {"step", pos_.step}, {"epoch", pos_.epoch},
              {"batch", pos_.batch}, {"elapsed", ds(pos_.elapsed)}, {"best_bleu", ds(pos_.best_bleu)},
              {"best_loss", ds(pos_.best_loss)}, {"best_saved", pos_.best_saved}, {"best_epoch", pos_.best_epoch}, {"seed", o_.seed},
              {"batch_size", o_.batch}, {"warmup", o_.warmup}, {"threads", num_threads()}, {"dropout_rngs", rngs}};
    d.train_json = t.dump();
  }
  train::save_checkpoint(file, *model_, with_state ? opt_.get() : nullptr, d);
}

std::vector<std::vector<size_t>> Seq2SeqRun::batches(int64_t epoch) const {
  const size_t N = tr_.src.size(), B = static_cast<size_t>(o_.batch), pool = 16 * B;
  std::vector<size_t> p(N);
  for (size_t i = 0; i < N; ++i) p[i] = i;
  Rng r(o_.seed, 0x7332737400ull + static_cast<uint64_t>(epoch));
  for (size_t i = N; i > 1; --i) std::swap(p[i - 1], p[r.below(i)]);  // Fisher–Yates
  std::vector<std::vector<size_t>> out;
  for (size_t a = 0; a < N; a += pool) {
    const auto first = p.begin() + static_cast<std::ptrdiff_t>(a), last = p.begin() + static_cast<std::ptrdiff_t>(std::min(N, a + pool));
    std::stable_sort(first, last, [&](size_t x, size_t y) { return tr_.tgt[x].size() < tr_.tgt[y].size(); });
    for (auto it = first; it < last; it += static_cast<std::ptrdiff_t>(std::min<size_t>(B, last - it)))
      out.emplace_back(it, it + static_cast<std::ptrdiff_t>(std::min<size_t>(B, last - it)));
  }
  for (size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[r.below(i)]);
  return out;
}

bool Seq2SeqRun::should_stop() const {
  if (o_.max_steps > 0 && pos_.step >= o_.max_steps) return true;
  return train::stop_requested(o_.time_budget > 0 && pos_.elapsed >= o_.time_budget);  // agreed by all ranks
}

// Teacher forcing: loss = mean over real target tokens (y_1..y_n, <eos>) of −log p.
// Under mpirun rank r trains on its shard train::shard(|idx|, r, N) of the global batch `idx`.
void Seq2SeqRun::train_batch(const std::vector<size_t>& idx) {
  Seq2SeqBatch b;
  const train::Shard sh = train::my_shard(static_cast<int64_t>(idx.size()));
  double weight = 0;  // the loss is a mean over this shard's target tokens
  for (size_t k = 0; k < idx.size(); ++k) {
    const size_t i = idx[k];
    tokens_ += static_cast<int64_t>(tr_.tgt[i].size()) + 1;  // the global batch's tokens (throughput)
    if (static_cast<int64_t>(k) < sh.begin || static_cast<int64_t>(k) >= sh.end) continue;
    b.src.push_back(&tr_.src[i]), b.tgt.push_back(&tr_.tgt[i]);
    weight += static_cast<double>(tr_.tgt[i].size()) + 1;
  }
  auto loss_fn = [&] {
    Var logits = model_->forward(b);  // [B, T, V]
    const int64_t T = logits.size(1);
    std::vector<int64_t> targets;
    for (const auto* t : b.tgt) {
      const int64_t n = static_cast<int64_t>(t->size());
      for (int64_t s = 0; s < T; ++s) targets.push_back(s < n ? (*t)[s] : s == n ? kEos : -100);
    }
    return cross_entropy(logits, targets);
  };
  // Linear warm-up: step s (1-based) of the first --warmup runs at lr·s/warmup; opt_->lr() holds the
  // base lr between steps (so checkpoints and resume never see the ramp).
  const double lr = opt_->lr();
  if (o_.warmup > 0 && pos_.step < o_.warmup) opt_->set_lr(lr * static_cast<double>(pos_.step + 1) / o_.warmup);
  train::StepStats st;
  try {
    st = train::train_step(loss_fn, *opt_, o_.clip, pos_.step + 1, weight);
  } catch (...) {
    opt_->set_lr(lr);
    throw;
  }
  opt_->set_lr(lr);
  ++pos_.step, ++pos_.batch;
  acc_loss_ += st.loss, acc_norm_ += st.grad_norm, ++acc_steps_;
  ema_loss_ = std::isnan(ema_loss_) ? st.loss : 0.95 * ema_loss_ + 0.05 * st.loss;
  if (!o_.quiet) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "epoch %lld  step %lld  loss %.4f (ppl %.1f)  %.0f tok/s  %s",
                  static_cast<long long>(pos_.epoch + 1), static_cast<long long>(pos_.step), ema_loss_, std::exp(ema_loss_),
                  static_cast<double>(tokens_) / std::max(pos_.elapsed, 1e-9), train::format_duration(pos_.elapsed).c_str());
    progress_.update(buf);
  }
}

void Seq2SeqRun::validate(bool partial) {
  DecodeOptions greedy;
  const Seq2SeqEval v = evaluate_seq2seq(*model_, valid_, greedy);
  RC_CHECK(std::isfinite(v.loss), "validation", "the validation loss is ", v.loss, " after step ", pos_.step);
  const double n = std::max<int64_t>(acc_steps_, 1);
  csv_->row({std::to_string(pos_.step), std::to_string(pos_.epoch), acc_steps_ ? train::fmt_num(acc_loss_ / n) : "",
             train::fmt_num(v.loss), train::fmt_num(v.bleu), acc_steps_ ? train::fmt_num(acc_norm_ / n) : "",
             train::fmt_num(opt_->lr()), train::fmt_num(pos_.elapsed, 5)});
  acc_loss_ = acc_norm_ = 0, acc_steps_ = 0;
  const bool better = v.bleu > pos_.best_bleu || (v.bleu == pos_.best_bleu && v.loss < pos_.best_loss);
  if (better) pos_.best_bleu = v.bleu, pos_.best_loss = v.loss, pos_.best_epoch = pos_.epoch;
  if (!o_.quiet) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "epoch %lld%s  step %lld  train loss %.4f  valid loss %.4f (ppl %.1f)  BLEU %.2f  exact %.1f%%%s  %s",
                  static_cast<long long>(pos_.epoch + 1), partial ? " (partial)" : "", static_cast<long long>(pos_.step),
                  ema_loss_, v.loss, std::exp(v.loss), v.bleu, 100 * v.exact_match, better ? " *" : "",
                  train::format_duration(pos_.elapsed).c_str());
    progress_.line(buf);
  }
  if (better) {
    save(path("best.safetensors"), false);
    pos_.best_saved = true;
  }
}

json eval_json(const Seq2SeqEval& e) {
  return {{"n", e.n}, {"loss", e.loss}, {"perplexity", std::exp(e.loss)}, {"bleu", e.bleu},
          {"exact_match", e.exact_match}, {"precisions", e.precisions}, {"brevity_penalty", e.brevity_penalty}};
}

void Seq2SeqRun::finish() {
  if (!train::is_writer()) return;  // under mpirun rank 0 evaluates the best model and writes the results
  if (pos_.best_saved) train::load_model_weights(train::read_checkpoint(path("best.safetensors")), *model_);
  json r = {{"steps", pos_.step}, {"epochs_completed", pos_.epoch}, {"train_seconds", pos_.elapsed},
            {"best_epoch", pos_.best_epoch + 1}, {"stopped_early", stopped_early()},
            {"parameters", model_->num_parameters()}, {"threads", num_threads()}, {"train_n", tr_.src.size()},
            {"arch", cfg_->arch}, {"attention", attention_label()}, {"beam", o_.beam}};
  // Greedy BLEU on valid and test; with --beam K > 1 also the test set's beam-search BLEU ("test_beam").
  for (int64_t k : o_.beam > 1 ? std::vector<int64_t>{1, o_.beam} : std::vector<int64_t>{1})
    for (auto [name, set] : {std::pair{std::string("valid"), &valid_}, {std::string("test"), &test_}}) {
      if (set->pairs.empty() || (k > 1 && name == "valid")) continue;
      DecodeOptions d;
      d.beam = k;
      const Seq2SeqEval e = evaluate_seq2seq(*model_, *set, d, k == 1);
      const std::string key = k == 1 ? name : name + "_beam";
      r[key] = eval_json(e);
      if (k > 1) r[key]["loss"] = r[name]["loss"], r[key]["perplexity"] = r[name]["perplexity"];
      std::printf("%s: BLEU %.2f  exact match %.2f%%  (%lld pairs, %s)\n", name.c_str(), e.bleu, 100 * e.exact_match,
                  static_cast<long long>(e.n), k == 1 ? "greedy" : ("beam " + std::to_string(k)).c_str());
      if (k == 1) {  // the baseline that copies the source, on the same pairs
        r["baselines"][name] = {{"copy_source", {{"bleu", e.copy_bleu}}}};
        std::printf("%s baseline: copying the source BLEU %.2f\n", name.c_str(), e.copy_bleu);
      }
      std::string hyp;
      for (const std::string& h : e.hypotheses) hyp += h + "\n";
      io::write_file_atomic(path((key + ".hyp.txt").c_str()), hyp);
    }
  std::fflush(stdout);
  io::write_file_atomic(path("results.json"), r.dump(2) + "\n");
}

void Seq2SeqRun::print_start(bool resume) {
  if (o_.quiet) return;
  char buf[400];
  std::snprintf(buf, sizeof buf, "%s encoder-decoder (%s, attention %s): vocabulary %lld source / %lld target, train %zu / valid %zu / test %zu pairs; %lld parameters, %d thread%s",
                resume ? "resuming" : "training", cfg_->arch.c_str(), attention_label(),
                static_cast<long long>(cfg_->src.size()), static_cast<long long>(cfg_->tgt.size()), train_.pairs.size(),
                valid_.pairs.size(), test_.pairs.size(), static_cast<long long>(model_->num_parameters()), num_threads(), num_threads() == 1 ? "" : "s");
  progress_.line(buf);
}

Seq2SeqOutcome Seq2SeqRun::run() {
  if (o_.out.empty()) o_.out = o_.resume;
  train::RunDir dir(o_);  // refuses another run's folder before any work
  RC_CHECK(o_.epochs > 0 || o_.time_budget > 0 || o_.max_steps > 0, "--epochs", "give --epochs N or --time-budget T");
  RC_CHECK(o_.batch >= 1, "--batch", "expected >= 1, got ", o_.batch);
  RC_CHECK(o_.clip >= 0, "--clip", "expected >= 0 (0: no clipping), got ", o_.clip);
  RC_CHECK(o_.beam >= 1, "--beam", "expected >= 1 (1: greedy), got ", o_.beam);
  RC_CHECK(o_.warmup >= 0, "--warmup", "expected >= 0 (0: none), got ", o_.warmup);
  RC_CHECK(o_.src_vocab >= 0 && o_.tgt_vocab >= 0, "--src-vocab", "vocabulary caps must be >= 0 (0: no cap)");
  const bool resume = !o_.resume.empty();
  load_sets();
  if (resume) {
    setup_resume();
    train::check_budget_left(o_, pos_.step, pos_.epoch, pos_.elapsed);
  } else {
    build_config();
    Rng init(o_.seed);
    model_ = make_seq2seq(*cfg_, init);
    opt_ = train::make_optimizer(o_.optimizer, model_->named_parameters(), o_.lr);
  }
  encode(train_, tr_);
  dir.create();
  csv_ = std::make_unique<train::MetricsCsv>(
      path("metrics.csv"),
      std::vector<std::string>{"step", "epoch", "train_loss", "valid_loss", "valid_bleu", "grad_norm", "lr", "elapsed_s"},
      resume, pos_.step);
  progress_ = train::Progress(o_.log_every);
  print_start(resume);
  train::clear_interrupt();
  train::install_interrupt_handler();
  model_->train();
  const auto t0 = Clock::now();
  const double elapsed0 = pos_.elapsed;
  auto tick = [&] { pos_.elapsed = elapsed0 + std::chrono::duration<double>(Clock::now() - t0).count(); };
  train::SaveSchedule saves(o_, pos_.step, pos_.elapsed);
  while (o_.epochs == 0 || pos_.epoch < o_.epochs) {
    if (stopped_early()) {
      if (!o_.quiet)
        progress_.line("early stop: no better validation BLEU in " + std::to_string(o_.patience) + " epochs (best: epoch " +
                       std::to_string(pos_.best_epoch + 1) + "); its weights are the model");
      break;
    }
    const std::vector<std::vector<size_t>> bs = batches(pos_.epoch);
    const int64_t nb = static_cast<int64_t>(bs.size());
    bool stop = false;
    while (pos_.batch < nb) {
      tick();
      if ((stop = should_stop())) break;
      if (saves.due(pos_.step, pos_.elapsed)) save(path("last.safetensors"), true), saves.saved(pos_.step, pos_.elapsed);
      train_batch(bs[static_cast<size_t>(pos_.batch)]);
      if (o_.valid_every > 0 && pos_.step % o_.valid_every == 0 && pos_.batch < nb) validate(true);
    }
    tick();
    if (stop && (train::interrupted() || (o_.max_steps > 0 && pos_.step >= o_.max_steps))) {
      save(path("last.safetensors"), true);
      progress_.line(std::string(train::interrupted() ? "interrupted" : "stopped at --max-steps") + " at step " +
                     std::to_string(pos_.step) + "; saved " + path("last.safetensors") + "; continue with: " + train::resume_command("seq2seq", o_.out));
      return Seq2SeqOutcome::stopped;
    }
    validate(stop);
    if (stop) {
      save(path("last.safetensors"), true);
      break;
    }
    ++pos_.epoch;
    pos_.batch = 0;
    save(path("last.safetensors"), true);
    saves.saved(pos_.step, pos_.elapsed);
  }
  finish();
  return Seq2SeqOutcome::finished;
}

}  // namespace

Seq2SeqOutcome train_seq2seq(const Seq2SeqTrainOptions& o) { return Seq2SeqRun(o).run(); }

}  // namespace recurrent::tasks
