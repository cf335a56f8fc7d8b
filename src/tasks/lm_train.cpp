// `recurrent train lm`: data → vocabulary → model → truncated-BPTT training with validation each
// epoch, learning-rate decay, best/last checkpoints, metrics CSV, Ctrl-C and resume.
//
// Resume is exact: the last checkpoint holds the weights, the optimizer state, the carried hidden
// state (extra.h.<l>, extra.c.<l>), the position (epoch, chunk, this epoch's offset), every RNG
// state (offsets, dropout), the lr and the plateau scheduler, so a resumed run takes the same steps
// as an uninterrupted one and ends with the same weights (same seed and thread count).
// The model is an LmModel (tasks/lm.h): the RNN (--arch rnn) or the transformer (--arch transformer,
// tasks/lm_transformer.h: chunks are independent windows of --context steps, so no carried state).
// Under mpirun (train/dist.h) rank r trains on rows train::shard(batch, r, N) of every chunk and carries
// the state of those rows; checkpoints hold the whole batch's state (gathered), so a run resumes on any
// number of ranks.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/lm_batches.h"
#include "recurrent/tasks/baselines.h"
#include "recurrent/data/text_file.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/optim/plateau.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/lm_transformer.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/diagnostics.h"
#include "recurrent/train/dist.h"
#include "tasks/layer_options.h"
#include "tasks/ngram_json.h"
#include "recurrent/train/loop.h"
#include "recurrent/io/json_int.h"

namespace recurrent::tasks {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string dstr(double v) { return train::fmt_num(v, 17); }
double dval(const json& j, const char* k) { return std::stod(j.at(k).get<std::string>()); }

struct Streams {
  std::vector<int64_t> train, valid, test;
  int64_t unk_valid = 0;
};

// Everything that changes during training and must survive a resume.
struct Position {
  int64_t step = 0, epoch = 0, chunk = 0, offset = 0, tokens = 0;
  double elapsed = 0.0, best_valid = INFINITY;
  bool best_saved = false;
  int64_t best_epoch = -1;  // 0-based epoch of best.safetensors (for --stop-patience); −1: none yet
};

class LmRun {
 public:
  explicit LmRun(const LmTrainOptions& o) : o_(o), rng_(o.seed, 0x747261696e) {}
  TrainOutcome run();

 private:
  void load_text(std::u32string& train, std::u32string& valid, std::u32string& test);
  void setup_fresh();
  void setup_resume();
  void make_streams(const std::u32string& tr, const std::u32string& va, const std::u32string& te);
  std::unique_ptr<LmModel> build_model(data::Vocab vocab);
  void warm_up_lr();
  bool should_stop(Clock::time_point t0) const;
  // --stop-patience N: the last N completed epochs brought no better validation loss.
  bool stopped_early() const {
    return o_.stop_patience > 0 && pos_.best_epoch >= 0 && pos_.epoch - 1 - pos_.best_epoch >= o_.stop_patience;
  }
  void train_chunk(const data::LmChunk& c);
  void end_epoch(bool partial);
  void save(const std::string& file, bool with_state);
  void log_row(const std::string& valid);
  void show_progress(const data::LmBatcher& b);
  void finish();
  int64_t draw_offset();
  std::string unit_str(double nats) const;
  std::string path(const char* f) const { return (fs::path(o_.out) / f).string(); }

  LmTrainOptions o_;
  Rng rng_;  // epoch offsets
  std::unique_ptr<LmModel> model_;
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<ReduceLROnPlateau> plateau_;
  std::unique_ptr<train::MetricsCsv> csv_;
  std::unique_ptr<train::Diagnostics> diag_;  // --diagnostics N: DIR/diagnostics.jsonl
  train::Progress progress_{10.0};
  Streams s_;
  NgramLmBaseline base_;  // unigram and bigram baselines of the training tokens (λ on validation)
  Position pos_;
  RNNState state_;
  double base_lr_ = 0.0;
  // since the last metrics row: summed loss, grad norm, steps, tokens, training seconds
  double acc_loss_ = 0, acc_norm_ = 0, acc_secs_ = 0, ema_loss_ = NAN;
  int64_t acc_steps_ = 0, acc_tokens_ = 0;
  double run_train_secs_ = 0;
  int64_t run_tokens_ = 0;
  Clock::time_point t0_;
  double elapsed0_ = 0;
};

void LmRun::load_text(std::u32string& train, std::u32string& valid, std::u32string& test) {
  const std::u32string text = data::read_utf8_file(o_.data);
  const bool words = data::parse_level(o_.level) == data::TokenLevel::words;
  if (o_.valid.empty()) {
    RC_CHECK(o_.test.empty(), "--test", "give --valid too (or neither, to split --data 90/5/5)");
    data::TextSplit sp = data::split_text(text, 0.9, 0.05, words, o_.data);
    train = std::move(sp.train), valid = std::move(sp.valid), test = std::move(sp.test);
  } else {
    train = text;
    valid = data::read_utf8_file(o_.valid);
    if (!o_.test.empty()) test = data::read_utf8_file(o_.test);
  }
}

void LmRun::make_streams(const std::u32string& tr, const std::u32string& va, const std::u32string& te) {
  const data::Vocab& v = model_->vocab();
  s_.train = v.encode(tr);
  s_.valid = v.encode(va);
  s_.test = v.encode(te);
  for (int64_t id : s_.valid) s_.unk_valid += id == data::Vocab::kUnk;
  RC_CHECK(s_.valid.size() >= 2, o_.valid.empty() ? o_.data : o_.valid, "validation text has fewer than 2 tokens");
}

void LmRun::setup_fresh() {
  const data::TokenLevel level = data::parse_level(o_.level);
  std::u32string tr, va, te;
  load_text(tr, va, te);
  data::Vocab vocab;
  if (level == data::TokenLevel::chars) {
    vocab = data::Vocab::build_chars(tr);
  } else {
    data::WordVocabOptions wo;
    wo.min_count = o_.min_count, wo.max_size = o_.max_vocab, wo.lower = o_.lower;
    vocab = data::Vocab::build_words(tr, wo);
  }
  model_ = build_model(std::move(vocab));
  make_streams(tr, va, te);
  opt_ = train::make_optimizer(o_.optimizer, model_->named_parameters(), o_.lr);
  base_lr_ = o_.lr;
  PlateauOptions po;
  po.factor = o_.lr_decay, po.patience = o_.patience;
  plateau_ = std::make_unique<ReduceLROnPlateau>(o_.lr, po);
}

// The configuration from the options (validated before any weight is drawn), then the model.
std::unique_ptr<LmModel> LmRun::build_model(data::Vocab vocab) {
  Rng init(o_.seed);
  if (o_.arch == "transformer") {
    TransformerLmConfig c;
    c.vocab = std::move(vocab);
    c.layers = o_.layers, c.heads = o_.heads, c.d_model = o_.d_model, c.ff = o_.ff;
    c.context = o_.context > 0 ? o_.context : o_.seq_len;
    c.pos = parse_positional(o_.pos);
    c.dropout = static_cast<float>(o_.dropout);
    c.validate();
    RC_CHECK(o_.seq_len == c.context, "--seq-len", "a transformer trains on windows of its context (", c.context,
             "); give --context only, or --seq-len equal to it");
    return std::make_unique<TransformerLanguageModel>(std::move(c), init);
  }
  RC_CHECK(o_.arch == "rnn", "--arch", "expected rnn or transformer, got '", o_.arch, "'");
  LmConfig c;
  c.vocab = std::move(vocab);
  c.layers = layer_specs(o_.cells, o_.hidden, o_.layers, o_.recurrent_dropout, o_.zoneout);
  c.embed = o_.embed > 0 ? o_.embed : c.layers[0].hidden;
  c.dropout = static_cast<float>(o_.dropout);
  c.tie_weights = o_.tie_weights;
  c.precision = parse_precision(o_.precision);
  c.validate();
  auto m = std::make_unique<LanguageModel>(std::move(c), init);
  if (o_.init_range > 0) m->init_uniform(static_cast<float>(o_.init_range), init);
  return m;
}

void LmRun::setup_resume() {
  const std::string file = (fs::path(o_.resume) / "last.safetensors").string();
  RC_CHECK(fs::exists(file), "--resume", "no last.safetensors in ", o_.resume);
  train::LoadedCheckpoint ck = train::read_checkpoint(file);
  RC_CHECK(!ck.train_json.empty(), file, "weights-only file: cannot resume training from it");
  Rng init(o_.seed);
  model_ = make_lm(ck.config_json, file, init);
  std::u32string tr, va, te;
  load_text(tr, va, te);
  make_streams(tr, va, te);
  train::load_model_weights(ck, *model_);
  try {
    json t = json::parse(ck.train_json);
    opt_ = train::make_optimizer(t.at("optimizer").get<std::string>(), model_->named_parameters(), dval(t, "lr"));
    opt_->load_state(ck.optim);
    base_lr_ = dval(t, "base_lr");
    o_.warmup = io::json_int_or<int64_t>(t, "warmup", 0);
    PlateauOptions po;
    po.factor = o_.lr_decay, po.patience = o_.patience;
    plateau_ = std::make_unique<ReduceLROnPlateau>(base_lr_, po);
    const json& p = t.at("plateau");
    plateau_->load_state({dval(p, "lr"), dval(p, "best"), io::json_int_at<int64_t>(p, "bad"), io::json_int_at<int64_t>(p, "cooldown"),
                          io::json_int_at<int64_t>(p, "last_epoch")});
    pos_ = {io::json_int_at<int64_t>(t, "step"), io::json_int_at<int64_t>(t, "epoch"), io::json_int_at<int64_t>(t, "chunk"),
            io::json_int_at<int64_t>(t, "offset"), io::json_int_at<int64_t>(t, "tokens"), dval(t, "elapsed"), dval(t, "best_valid"),
            t.at("best_saved").get<bool>(), io::json_int_or<int64_t>(t, "best_epoch", -1)};
    // The position (chunk, offset) only means the same thing for the same data, batch and seq-len.
    RC_CHECK(io::json_int_at<int64_t>(t, "seq_len") == o_.seq_len && io::json_int_at<int64_t>(t, "batch") == o_.batch, "--resume",
             "the run was trained with --seq-len ", io::json_int_at<int64_t>(t, "seq_len"), " --batch ",
             io::json_int_at<int64_t>(t, "batch"), "; resume with the same values");
    RC_CHECK(io::json_int_at<size_t>(t, "train_tokens") == s_.train.size(), "--resume", "the training text has ",
             s_.train.size(), " tokens, the run had ", io::json_int_at<size_t>(t, "train_tokens"), " (resume with the same --data)");
    train::rng_state_from_json(rng_, t.at("rng").dump(), file);
    for (auto& [name, r] : model_->dropout_rngs()) train::rng_state_from_json(*r, t.at(name).dump(), file);
  } catch (const json::exception& e) {
    throw Error(file, std::string("bad training state: ") + e.what());
  }
  // Carried state "h.<layer>" / "c.<layer>" (c only for LSTM layers); none at an epoch start or
  // for a transformer.
  const auto* rnn = dynamic_cast<const LanguageModel*>(model_.get());
  const size_t L = rnn ? rnn->config().layers.size() : 0;
  for (auto& [name, t] : ck.extra) {
    if (name.rfind("baseline.", 0) == 0) continue;  // the n-gram baselines: refitted from the same data
    const bool h = name.rfind("h.", 0) == 0, c = name.rfind("c.", 0) == 0;
    RC_CHECK(h || c, file, "unexpected tensor 'extra.", name, "'");
    const size_t l = std::stoul(name.substr(2));
    RC_CHECK(l < L, file, "tensor 'extra.", name, "' for a layer the model does not have");
    std::vector<Var>& v = h ? state_.h : state_.c;
    v.resize(L);
    v[l] = Var(train::world_size() > 1 ? train::shard_of(t, 1, train::my_shard(o_.batch)) : t);  // [D, B(, shard), H]
  }
  RC_CHECK(state_.h.empty() || std::all_of(state_.h.begin(), state_.h.end(), [](const Var& v) { return v.defined(); }),
           file, "carried hidden state incomplete");
}


void LmRun::save(const std::string& file, bool with_state) {
  train::CheckpointData d;
  d.config_json = model_->config_json();
  d.command_json = o_.command;
  base_.append_tensors(d.extra, "baseline.lm.");  // `recurrent eval` scores them on any text
  if (with_state) {
    const PlateauState& ps = plateau_->state();
    json t = {{"optimizer", opt_->kind()}, {"lr", dstr(opt_->lr())}, {"base_lr", dstr(base_lr_)},
              {"plateau", {{"lr", dstr(ps.lr)}, {"best", dstr(ps.best)}, {"bad", ps.num_bad_epochs},
                           {"cooldown", ps.cooldown_counter}, {"last_epoch", ps.last_epoch}}},
              {"step", pos_.step}, {"epoch", pos_.epoch}, {"chunk", pos_.chunk}, {"offset", pos_.offset},
              {"tokens", pos_.tokens}, {"elapsed", dstr(pos_.elapsed)}, {"best_valid", dstr(pos_.best_valid)}, {"best_epoch", pos_.best_epoch},
              {"best_saved", pos_.best_saved}, {"seed", o_.seed}, {"threads", num_threads()},
              {"seq_len", o_.seq_len}, {"batch", o_.batch}, {"train_tokens", s_.train.size()},
              {"warmup", o_.warmup}, {"rng", json::parse(train::rng_state_to_json(rng_))}};
    for (auto& [name, r] : model_->dropout_rngs()) t[name] = json::parse(train::rng_state_to_json(*r));
    d.train_json = t.dump();
    // The whole batch's carried state [D, B, H] (under mpirun each rank holds its rows: gathered).
    const train::Shard sh = train::my_shard(o_.batch);
    auto whole = [&](const Var& v) { return train::gather_shards(v.value(), 1, sh, o_.batch, "the carried state"); };
    for (size_t l = 0; l < state_.h.size(); ++l) {
      d.extra.push_back({"h." + std::to_string(l), whole(state_.h[l])});
      if (l < state_.c.size() && state_.c[l].defined()) d.extra.push_back({"c." + std::to_string(l), whole(state_.c[l])});
    }
  }
  train::save_checkpoint(file, *model_, with_state ? opt_.get() : nullptr, d);
}

std::string LmRun::unit_str(double nats) const {
  char buf[64];
  if (model_->vocab().level() == data::TokenLevel::chars) std::snprintf(buf, sizeof buf, "%.3f bits/char", nats / std::log(2.0));
  else std::snprintf(buf, sizeof buf, "ppl %.2f", std::exp(nats));
  return buf;
}

bool LmRun::should_stop(Clock::time_point t0) const {
  if (o_.max_steps > 0 && pos_.step >= o_.max_steps) return true;
  const double el = elapsed0_ + std::chrono::duration<double>(Clock::now() - t0).count();
  return train::stop_requested(o_.time_budget > 0 && el >= o_.time_budget);  // agreed by all ranks
}

// Linear warm-up: step s (1-based) of the first --warmup runs at lr·s/warmup; opt_->lr() holds the
// scheduled lr between steps, so the plateau schedule and the checkpoint never see the ramp.
void LmRun::train_chunk(const data::LmChunk& c) {
  const auto a = Clock::now();
  const bool probed = diag_ && diag_->begin_step(pos_.step + 1);
  const double lr = opt_->lr();
  if (o_.warmup > 0 && pos_.step < o_.warmup) opt_->set_lr(lr * static_cast<double>(pos_.step + 1) / o_.warmup);
  train::StepStats st;
  const train::Shard sh = train::my_shard(c.B);  // this rank's rows (all of them: one process)
  const data::LmChunk mine = sh.count() == c.B ? c : c.columns(sh.begin, sh.end);
  try {
    st = train::train_step(
        [&] { return cross_entropy(model_->forward_chunk(mine.inputs, mine.T, mine.B, state_), mine.targets); }, *opt_,
        o_.clip, pos_.step + 1, static_cast<double>(mine.T * mine.B));
  } catch (...) {
    opt_->set_lr(lr);
    if (probed) diag_->abandon();
    throw;
  }
  opt_->set_lr(lr);
  if (probed) diag_->end_step(pos_.step + 1, st.loss, st.grad_norm);
  const double secs = std::chrono::duration<double>(Clock::now() - a).count();
  ++pos_.step;
  pos_.tokens += c.T * c.B;
  acc_loss_ += st.loss, acc_norm_ += st.grad_norm, acc_secs_ += secs, ++acc_steps_, acc_tokens_ += c.T * c.B;
  run_train_secs_ += secs, run_tokens_ += c.T * c.B;
  ema_loss_ = std::isnan(ema_loss_) ? st.loss : 0.98 * ema_loss_ + 0.02 * st.loss;
  if (o_.log_interval > 0 && pos_.step % o_.log_interval == 0) log_row("");
}

void LmRun::log_row(const std::string& valid) {
  if (acc_steps_ == 0 && valid.empty()) return;
  const double n = std::max<int64_t>(acc_steps_, 1);
  csv_->row({std::to_string(pos_.step), std::to_string(pos_.epoch), acc_steps_ ? train::fmt_num(acc_loss_ / n) : "",
             valid, acc_steps_ ? train::fmt_num(acc_norm_ / n) : "", train::fmt_num(opt_->lr()),
             acc_secs_ > 0 ? train::fmt_num(acc_tokens_ / acc_secs_, 4) : "", train::fmt_num(pos_.elapsed, 5)});
  acc_loss_ = acc_norm_ = acc_secs_ = 0, acc_steps_ = acc_tokens_ = 0;
}

void LmRun::show_progress(const data::LmBatcher& b) {
  if (o_.quiet) return;
  const double tps = run_train_secs_ > 0 ? run_tokens_ / run_train_secs_ : 0;
  double eta = 0;
  if (o_.time_budget > 0) eta = o_.time_budget - pos_.elapsed;
  else if (o_.epochs > 0 && tps > 0)
    eta = ((o_.epochs - pos_.epoch) * b.tokens() - pos_.chunk * o_.seq_len * o_.batch) / tps;
  char buf[256];
  std::snprintf(buf, sizeof buf, "epoch %lld %3.0f%%  step %lld  loss %.3f (%s)  %.0f tok/s  lr %.3g  ETA %s",
                static_cast<long long>(pos_.epoch + 1), 100.0 * pos_.chunk / b.num_chunks(),
                static_cast<long long>(pos_.step), ema_loss_, unit_str(ema_loss_).c_str(), tps, opt_->lr(),
                train::format_duration(eta).c_str());
  progress_.update(buf);
}

void LmRun::end_epoch(bool partial) {
  const LmEval v = evaluate_lm(*model_, s_.valid, o_.eval_batch, o_.seq_len);
  RC_CHECK(std::isfinite(v.loss_nats), "validation", "the validation loss is ", v.loss_nats, " after step ", pos_.step);
  log_row(train::fmt_num(v.loss_nats));
  const bool better = v.loss_nats < pos_.best_valid;
  if (better) pos_.best_valid = v.loss_nats, pos_.best_epoch = pos_.epoch;
  if (!partial) {  // the lr for the next epoch
    if (o_.decay_start > 0) opt_->set_lr(base_lr_ * std::pow(o_.lr_decay, std::max<int64_t>(0, pos_.epoch + 2 - o_.decay_start)));
    else opt_->set_lr(plateau_->step(v.loss_nats));
  }
  if (!o_.quiet) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "epoch %lld%s  step %lld  train %s (moving avg)  valid %s%s  lr %.3g  %.0f tok/s  %s",
                  static_cast<long long>(pos_.epoch + 1), partial ? " (partial)" : "", static_cast<long long>(pos_.step),
                  unit_str(ema_loss_).c_str(), unit_str(v.loss_nats).c_str(), better ? " *" : "", opt_->lr(),
                  run_train_secs_ > 0 ? run_tokens_ / run_train_secs_ : 0.0, train::format_duration(pos_.elapsed).c_str());
    progress_.line(buf);
  }
  if (better) {
    save(path("best.safetensors"), false);
    pos_.best_saved = true;
  }
}

// This epoch's start offset in [0, min(seq_len, N − batch)): rows keep at least one step.
int64_t LmRun::draw_offset() {
  const int64_t range = std::min<int64_t>(o_.seq_len, static_cast<int64_t>(s_.train.size()) - o_.batch);
  return static_cast<int64_t>(rng_.below(static_cast<uint64_t>(std::max<int64_t>(1, range))));
}

// Under mpirun every rank evaluates its share (evaluate_lm); rank 0 prints and writes the results.
void LmRun::finish() {
  train::any_rank(false, "the end of training");  // a barrier: rank 0 has written best.safetensors
  const bool chars = model_->vocab().level() == data::TokenLevel::chars;
  const char* tok = chars ? "chars" : "tokens";
  if (pos_.best_saved) train::load_model_weights(train::read_checkpoint(path("best.safetensors")), *model_);
  const LmEval v = evaluate_lm(*model_, s_.valid, o_.eval_batch, o_.seq_len);
  json r = {{"level", data::level_name(model_->vocab().level())}, {"arch", json::parse(model_->config_json()).value("arch", "rnn")}, {"steps", pos_.step}, {"epochs_completed", pos_.epoch},
            {"best_epoch", pos_.best_epoch + 1}, {"stopped_early", stopped_early()}, {"train_seconds", pos_.elapsed}, {"tokens_per_s", run_train_secs_ > 0 ? run_tokens_ / run_train_secs_ : 0.0},
            {"parameters", model_->num_parameters()}, {"threads", num_threads()}, {"ranks", train::world_size()},
            {"valid", {{"tokens", v.tokens}, {"loss_nats", v.loss_nats}, {"bits_per_token", v.bits()}, {"perplexity", v.perplexity()}}}};
  std::printf("valid: %s on %lld held-out %s\n", unit_str(v.loss_nats).c_str(), static_cast<long long>(v.tokens), tok);
  // The unigram and bigram baselines of the same training tokens, on the same held-out tokens.
  const NgramLmBaseline& base = base_;
  auto baselines = [&](const std::vector<int64_t>& ids, const char* part) {
    const double u = base.unigram_nats(ids), b = base.bigram_nats(ids);
    std::printf("%s baselines: unigram %s, bigram %s\n", part, unit_str(u).c_str(), unit_str(b).c_str());
    r["baselines"][part] = detail::ngram_scores_json(u, b);
    return b;
  };
  const double vb = baselines(s_.valid, "valid");
  if (const train::ReduceStats& rs = train::reduce_stats(); rs.steps > 0)  // under mpirun: what a step moved
    r["data_parallel"] = {{"ranks", train::world_size()}, {"allreduce_bytes_per_step", rs.bytes_per_step},
                          {"allreduce_buckets", rs.buckets}, {"allreduce_ms_per_step", 1e3 * rs.seconds / rs.steps}};
  r["baselines"]["bigram_lambda"] = base.lambda();
  if (s_.test.size() >= 2) {
    const LmEval t = evaluate_lm(*model_, s_.test, o_.eval_batch, o_.seq_len);
    r["test"] = {{"tokens", t.tokens}, {"loss_nats", t.loss_nats}, {"bits_per_token", t.bits()}, {"perplexity", t.perplexity()}};
    std::printf("test: %s on %lld held-out %s\n", unit_str(t.loss_nats).c_str(), static_cast<long long>(t.tokens), tok);
    baselines(s_.test, "test");
  }
  std::fflush(stdout);
  if (!train::is_writer()) return;
  if (v.loss_nats >= vb)
    std::fprintf(stderr, "warning: the model does not beat its bigram baseline on validation (%s vs %s): a longer "
                 "--time-budget may help\n", unit_str(v.loss_nats).c_str(), unit_str(vb).c_str());
  io::write_file_atomic(path("results.json"), r.dump(2) + "\n");
}

TrainOutcome LmRun::run() {
  if (o_.out.empty()) o_.out = o_.resume;
  train::RunDir dir(o_);  // refuses another run's folder before any work
  RC_CHECK(o_.epochs > 0 || o_.time_budget > 0 || o_.max_steps > 0, "--epochs", "give --epochs N or --time-budget T");
  RC_CHECK(o_.clip >= 0, "--clip", "expected >= 0 (0: no clipping), got ", o_.clip);
  RC_CHECK(o_.lr_decay > 0 && o_.lr_decay < 1, "--lr-decay", "expected a factor in (0, 1), got ", o_.lr_decay);
  RC_CHECK(o_.batch >= train::world_size(), "--batch", "the global batch (", o_.batch, ") is cut into rows for ",
           train::world_size(), " ranks; give at least one row per rank");
  RC_CHECK(o_.diagnostics == 0 || train::world_size() == 1, "--diagnostics", "runs in one process only, not under mpirun");
  const bool resume = !o_.resume.empty();
  if (resume) setup_resume(); else setup_fresh();
  train::refuse_unsynced_buffers(*model_);
  if (resume) train::check_budget_left(o_, pos_.step, pos_.epoch, pos_.elapsed);
  if (!resume) pos_.offset = draw_offset();
  base_ = NgramLmBaseline::fit(s_.train, s_.valid, model_->vocab().size());  // deterministic: a resume refits the same
  data::LmBatcher check(s_.train, o_.batch, o_.seq_len, pos_.offset, o_.data);  // too short: error now
  dir.create();
  csv_ = std::make_unique<train::MetricsCsv>(
      path("metrics.csv"),
      std::vector<std::string>{"step", "epoch", "train_loss", "valid_loss", "grad_norm", "lr", "tokens_per_s", "elapsed_s"},
      resume, pos_.step);
  if (o_.diagnostics > 0) {
    auto* rnn_lm = dynamic_cast<LanguageModel*>(model_.get());
    RC_CHECK(rnn_lm, "--diagnostics", "per-step gradient diagnostics need a recurrent model (not --arch transformer)");
    diag_ = std::make_unique<train::Diagnostics>(rnn_lm->rnn(), model_->named_parameters(), path("diagnostics.jsonl"),
                                                 o_.diagnostics, resume);
  }
  if (!o_.quiet) {
    char buf[320];
    std::snprintf(buf, sizeof buf, "%s %s level: vocabulary %lld, train %zu / valid %zu / test %zu tokens; %s, %lld parameters, %d thread%s",
                  resume ? "resuming" : "training", data::level_name(model_->vocab().level()),
                  static_cast<long long>(model_->vocab_size()), s_.train.size(), s_.valid.size(), s_.test.size(),
                  model_->summary().c_str(), static_cast<long long>(model_->num_parameters()), num_threads(), num_threads() == 1 ? "" : "s");
    if (train::world_size() > 1) std::snprintf(buf + std::strlen(buf), sizeof buf - std::strlen(buf), " × %d ranks", train::world_size());
    progress_ = train::Progress(o_.log_every);
    progress_.line(buf);
  }
  std::vector<Rng*> drop;
  for (auto& [name, r] : model_->dropout_rngs()) drop.push_back(r);
  train::rank_streams(drop);  // under mpirun: each rank its own dropout masks
  train::clear_interrupt();
  train::install_interrupt_handler();
  model_->train();
  const auto t0 = Clock::now();
  elapsed0_ = pos_.elapsed;
  auto tick = [&] { pos_.elapsed = elapsed0_ + std::chrono::duration<double>(Clock::now() - t0).count(); };
  train::SaveSchedule saves(o_, pos_.step, pos_.elapsed);
  while (o_.epochs == 0 || pos_.epoch < o_.epochs) {
    if (stopped_early()) {
      if (!o_.quiet)
        progress_.line("early stop: no better validation loss in " + std::to_string(o_.stop_patience) + " epochs (best: epoch " +
                       std::to_string(pos_.best_epoch + 1) + "); its weights are the model");
      break;
    }
    data::LmBatcher b(s_.train, o_.batch, o_.seq_len, pos_.offset, o_.data);
    bool stop = false;
    while (pos_.chunk < b.num_chunks()) {
      tick();
      if ((stop = should_stop(t0))) break;
      if (saves.due(pos_.step, pos_.elapsed)) save(path("last.safetensors"), true), saves.saved(pos_.step, pos_.elapsed);
      train_chunk(b.chunk(pos_.chunk));
      ++pos_.chunk;
      show_progress(b);
    }
    tick();
    if (stop && (train::interrupted() || (o_.max_steps > 0 && pos_.step >= o_.max_steps))) {
      log_row("");
      save(path("last.safetensors"), true);
      if (!o_.quiet && !train::reduce_summary().empty()) progress_.line(train::reduce_summary());
      progress_.line(std::string(train::interrupted() ? "interrupted" : "stopped at --max-steps") + " at step " +
                     std::to_string(pos_.step) + "; saved " + path("last.safetensors") + "; continue with: " + train::resume_command("lm", o_.out));
      return TrainOutcome::stopped;
    }
    end_epoch(stop);  // stop here: the time budget ended mid-epoch
    if (stop) {
      save(path("last.safetensors"), true);
      break;
    }
    ++pos_.epoch;
    pos_.chunk = 0;
    state_ = {};
    pos_.offset = draw_offset();
    save(path("last.safetensors"), true);
    saves.saved(pos_.step, pos_.elapsed);
  }
  if (!o_.quiet && !train::reduce_summary().empty()) progress_.line(train::reduce_summary());
  finish();
  return TrainOutcome::finished;
}

}  // namespace

TrainOutcome train_lm(const LmTrainOptions& o) { return LmRun(o).run(); }

}  // namespace recurrent::tasks
