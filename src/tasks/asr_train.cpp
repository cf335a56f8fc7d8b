// `recurrent train asr`: FSDD → isolated takes or connected digits (built here, deterministic from the
// seed) → features with global mean/variance normalisation (statistics of the training part, kept in the
// model) → minibatches of whole utterances (padded) → the shared epoch loop (train/epochs.h) with the
// validation error after each epoch (WER for CTC, 1 − accuracy for the classifier; ties: lower loss),
// best/last checkpoints, metrics CSV, early stopping after --patience epochs without a better one, and
// results.json with the best model's validation and test figures (and the test latency).
//
// Resume is exact: the data are rebuilt from the same options, each epoch's order is
// epoch_order(seed, 0x617372 + epoch), SpecAugment masks are drawn from Rng(seed, epoch·2^20 + batch).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/audio/spec_augment.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/asr.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/dist.h"
#include "recurrent/train/epochs.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr uint64_t kOrderStream = 0x617372ull;

json eval_json(const AsrEval& e, bool ctc) { return json::parse(asr_eval_json(e, ctc)); }

class AsrRun : public train::EpochTask {
 public:
  explicit AsrRun(const AsrTrainOptions& o) : o_(o) {}
  AsrOutcome run();

  int64_t batches_per_epoch() const override { return (static_cast<int64_t>(data_.train.size()) + o_.batch - 1) / o_.batch; }
  void begin_epoch(int64_t epoch) override { perm_ = train::epoch_order(data_.train.size(), o_.seed, kOrderStream, epoch); }
  train::StepStats train_batch(int64_t epoch, int64_t batch, int64_t step) override;
  void end_epoch(const train::EpochPosition& pos, bool partial, double train_loss, double grad_norm) override;
  void save_last(const train::EpochPosition& pos) override {
    pos_ = pos;
    save(path("last.safetensors"), true);
  }
  bool stop_early() const override {
    return o_.patience > 0 && best_epoch_ >= 0 && pos_.epoch - 1 - best_epoch_ >= o_.patience;
  }

 private:
  bool ctc() const { return cfg_.kind == AsrKind::ctc; }
  void load_data();
  void setup_resume();
  void save(const std::string& file, bool with_state);
  void finish();
  std::string path(const char* f) const { return (fs::path(o_.out) / f).string(); }
  train::NamedRngs rngs() { return train::NamedRngs{{"dropout_rng", &model_->dropout_rng()}, {"rnn_dropout_rng", &model_->rnn().dropout_rng()}}; }

  AsrTrainOptions o_;
  AsrConfig cfg_;
  AsrData data_;
  std::unique_ptr<AsrModel> model_;
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<train::MetricsCsv> csv_;
  train::Progress progress_{10.0};
  train::EpochPosition pos_;
  std::vector<size_t> perm_;
  double best_err_ = INFINITY, best_loss_ = INFINITY;
  int64_t best_epoch_ = -1;
};

// The data and, for a new run, the configuration: front end, global statistics of the training part.
void AsrRun::load_data() {
  audio::FeatureOptions f;
  if (cfg_.features.empty()) {  // a new run
    f.kind = o_.kind;
    f.normalize = o_.normalize;
    cfg_.features = audio::to_map(f);
  } else {
    f = cfg_.front_end();
  }
  const bool global = f.normalize == "global", speaker = f.normalize == "speaker";
  if (global || speaker) f.normalize = "none";
  data_ = load_asr_data(o_.d, f);
  if (speaker)  // each part's speakers by their own statistics (the test speaker's: unlabelled adaptation)
    for (auto* part : {&data_.train, &data_.valid, &data_.test}) normalize_by_speaker(*part, f.norm_eps);
  if (!global) return;
  if (cfg_.norm_mean.empty()) {  // a new run: the training part's statistics
    audio::GlobalNorm g;
    for (const AsrItem& it : data_.train) g.add(it.feats);
    g.finish(f.norm_eps);
    cfg_.norm_mean.assign(g.mean().data(), g.mean().data() + g.dims());
    cfg_.norm_std.assign(g.stddev().data(), g.stddev().data() + g.dims());
  }
  const audio::GlobalNorm used = cfg_.global_norm();
  for (auto* part : {&data_.train, &data_.valid, &data_.test})
    for (AsrItem& it : *part) used.apply(it.feats);
}

void AsrRun::setup_resume() {
  const std::string file = (fs::path(o_.resume) / "last.safetensors").string();
  RC_CHECK(fs::exists(file), "--resume", "no last.safetensors in ", o_.resume);
  train::LoadedCheckpoint ck = train::read_checkpoint(file);
  RC_CHECK(!ck.train_json.empty(), file, "weights-only file: cannot resume training from it");
  cfg_ = AsrConfig::from_json(ck.config_json, file);
  load_data();
  Rng init(o_.seed);
  model_ = std::make_unique<AsrModel>(cfg_, init);
  train::load_model_weights(ck, *model_);
  train::EpochState st = train::read_epoch_state(ck, model_->named_parameters(), rngs(), file);
  opt_ = std::move(st.opt);
  pos_ = st.pos;  // (the recorded seed is not taken back here: the run's own --seed, as before)
  try {
    const json t = json::parse(ck.train_json);
    best_err_ = std::stod(t.at("best_err").get<std::string>());
    best_loss_ = std::stod(t.at("best_loss").get<std::string>());
    best_epoch_ = io::json_int_at<int64_t>(t, "best_epoch");
  } catch (const json::exception& e) {
    throw Error(file, std::string("bad training state: ") + e.what());
  }
}

void AsrRun::save(const std::string& file, bool with_state) {
  train::CheckpointData d;
  d.config_json = cfg_.to_json();
  d.command_json = o_.command;
  if (with_state) {
    const json t = {{"best_err", train::fmt_num(best_err_, 17)}, {"best_loss", train::fmt_num(best_loss_, 17)},
                    {"best_epoch", best_epoch_}};
    d.train_json = train::epoch_state_json(*opt_, pos_, o_.seed, rngs(), t.dump());
  }
  train::save_checkpoint(file, *model_, with_state ? opt_.get() : nullptr, d);
}

train::StepStats AsrRun::train_batch(int64_t epoch, int64_t batch, int64_t step) {
  std::vector<size_t> which;
  const size_t begin = static_cast<size_t>(batch * o_.batch), end = std::min(perm_.size(), begin + o_.batch);
  const train::Shard sh = train::my_shard(static_cast<int64_t>(end - begin));  // under mpirun: this rank's utterances
  for (size_t i = begin + sh.begin; i < begin + sh.end; ++i) which.push_back(perm_[i]);
  if (which.empty()) return train::train_step([] { return Var(); }, *opt_, o_.clip, step, 0.0);  // nothing for this rank
  std::vector<Tensor> feats;
  if (o_.spec_augment) {
    Rng rng(o_.seed, static_cast<uint64_t>(epoch) * (1ull << 20) + static_cast<uint64_t>(batch));
    const int blocks = 1 + cfg_.front_end().deltas;
    for (size_t i : which) {
      feats.push_back(data_.train[i].feats.clone());
      audio::spec_augment(feats.back(), audio::SpecAugmentOptions{}, rng, blocks);
    }
  }
  const AsrBatch b = asr_batch(data_.train, which, cfg_.stack, feats);
  return train::train_step([&] { return asr_loss(*model_, b); }, *opt_, o_.clip, step,
                           static_cast<double>(which.size()));  // CTC / cross-entropy: a mean over utterances
}

void AsrRun::end_epoch(const train::EpochPosition& pos, bool partial, double train_loss, double grad_norm) {
  pos_ = pos;
  const AsrEval v = evaluate_asr(*model_, data_.valid);
  RC_CHECK(std::isfinite(v.loss), "validation", "the validation loss is ", v.loss, " after step ", pos.step);
  auto opt_num = [](double x) { return std::isnan(x) ? std::string() : train::fmt_num(x); };
  csv_->row({std::to_string(pos.step), std::to_string(pos.epoch), opt_num(train_loss), train::fmt_num(v.loss),
             train::fmt_num(v.wer), train::fmt_num(v.sentence_accuracy), opt_num(grad_norm), train::fmt_num(opt_->lr()),
             train::fmt_num(pos.elapsed, 5)});
  const bool better = v.wer < best_err_ || (v.wer == best_err_ && v.loss < best_loss_);
  if (better) best_err_ = v.wer, best_loss_ = v.loss, best_epoch_ = pos.epoch;
  if (!o_.quiet) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "epoch %lld%s  step %lld  train loss %.4f  valid loss %.4f  %s %.2f%%%s  %s",
                  static_cast<long long>(pos.epoch + 1), partial ? " (partial)" : "", static_cast<long long>(pos.step),
                  train_loss, v.loss, ctc() ? "WER" : "error", 100 * v.wer, better ? " *" : "",
                  train::format_duration(pos.elapsed).c_str());
    progress_.line(buf);
  }
  if (better) save(path("best.safetensors"), false);
}

void AsrRun::finish() {
  if (!train::is_writer()) return;  // under mpirun rank 0 evaluates the best model and writes the results
  if (best_epoch_ >= 0) train::load_model_weights(train::read_checkpoint(path("best.safetensors")), *model_);
  const AsrEval v = evaluate_asr(*model_, data_.valid);
  const AsrEval t = evaluate_asr(*model_, data_.test);
  const json r = {{"task", ctc() ? "ctc" : "classify"}, {"split", data_.split}, {"steps", pos_.step},
                  {"epochs_completed", pos_.epoch}, {"best_epoch", best_epoch_ + 1}, {"early_stopped", stop_early()},
                  {"train_seconds", pos_.elapsed}, {"parameters", model_->num_parameters()},
                  {"threads", num_threads()}, {"cell", o_.cells}, {"hidden", o_.hidden},
                  {"bidirectional", cfg_.bidirectional}, {"stack", cfg_.stack}, {"seed", o_.seed},
                  {"valid", eval_json(v, ctc())}, {"test", eval_json(t, ctc())}};
  for (const auto& [name, e] : {std::pair{"valid", &v}, std::pair{"test", &t}}) {
    if (ctc())
      std::printf("%s: WER %.2f%%  CER %.2f%%  sentence accuracy %.2f%%  (%lld utterances, %lld digits)\n", name,
                  100 * e->wer, 100 * e->cer, 100 * e->sentence_accuracy, static_cast<long long>(e->utterances),
                  static_cast<long long>(e->words));
    else
      std::printf("%s: accuracy %.2f%%  (%lld utterances)\n", name, 100 * e->sentence_accuracy,
                  static_cast<long long>(e->utterances));
  }
  if (ctc() && t.latency.digits > 0)
    std::printf("test latency (%s): median %.0f ms, mean %.0f ms, p90 %.0f ms after the end of a digit\n",
                t.latency.mode.c_str(), t.latency.median_ms, t.latency.mean_ms, t.latency.p90_ms);
  std::fflush(stdout);
  io::write_file_atomic(path("results.json"), r.dump(2) + "\n");
}

AsrOutcome AsrRun::run() {
  if (o_.out.empty()) o_.out = o_.resume;
  train::RunDir dir(o_);
  RC_CHECK(o_.epochs > 0 || o_.time_budget > 0 || o_.max_steps > 0, "--epochs", "give --epochs N or --time-budget T");
  RC_CHECK(o_.batch >= 1, "--batch", "expected >= 1, got ", o_.batch);
  RC_CHECK(o_.clip >= 0, "--clip", "expected >= 0 (0: no clipping), got ", o_.clip);
  RC_CHECK(o_.patience >= 0, "--patience", "expected >= 0 (0: off), got ", o_.patience);
  RC_CHECK(o_.kind == "mfcc" || o_.kind == "fbank", "--features", "expected mfcc or fbank, got '", o_.kind, "'");
  RC_CHECK(o_.normalize == "global" || o_.normalize == "utterance" || o_.normalize == "speaker", "--normalize",
           "expected global, utterance or speaker, got '", o_.normalize, "'");
  RC_CHECK(o_.d.isolated || (o_.d.n_train >= 1 && o_.d.n_valid >= 1 && o_.d.n_test >= 1), "--n-train",
           "expected at least one connected utterance in each part");
  const bool resume = !o_.resume.empty();
  if (resume) {
    setup_resume();
    if (!stop_early()) train::check_budget_left(o_, pos_.step, pos_.epoch, pos_.elapsed);
  } else {
    cfg_.kind = o_.d.isolated ? AsrKind::classify : AsrKind::ctc;
    cfg_.layers = layer_specs(o_.cells, o_.hidden, o_.layers, o_.recurrent_dropout, o_.zoneout);
    cfg_.bidirectional = o_.bidirectional;
    cfg_.stack = o_.stack;
    cfg_.dropout = static_cast<float>(o_.dropout);
    cfg_.data_json = o_.d.to_json();
    load_data();
    Rng init(o_.seed);
    model_ = std::make_unique<AsrModel>(cfg_, init);
    opt_ = train::make_optimizer(o_.optimizer, model_->named_parameters(), o_.lr);
  }
  dir.create();
  csv_ = std::make_unique<train::MetricsCsv>(
      path("metrics.csv"),
      std::vector<std::string>{"step", "epoch", "train_loss", "valid_loss", "valid_wer", "valid_sentence_accuracy",
                               "grad_norm", "lr", "elapsed_s"},
      resume, pos_.step);
  progress_ = train::Progress(o_.log_every);
  if (!o_.quiet)
    progress_.line(std::string(resume ? "resuming" : "training") + (ctc() ? " a CTC speech model" : " a digit classifier") +
                   ": " + std::to_string(data_.train.size()) + " / " + std::to_string(data_.valid.size()) + " / " +
                   std::to_string(data_.test.size()) + " utterances (" + data_.split + "); " +
                   std::to_string(model_->num_parameters()) + " parameters, " + std::to_string(num_threads()) +
                   " thread(s)");
  model_->train();
  const train::EpochLimits lim{o_.epochs, o_.time_budget, o_.max_steps, o_.save_every_steps, o_.save_every_seconds};
  if (!stop_early() && train::run_epochs(*this, pos_, lim, progress_, o_.quiet, train::resume_command("asr", o_.out)) ==
                           train::EpochOutcome::stopped)
    return AsrOutcome::stopped;
  if (stop_early() && !o_.quiet)
    progress_.line("early stop: no better validation error in " + std::to_string(o_.patience) + " epochs (best: epoch " +
                   std::to_string(best_epoch_ + 1) + ")");
  finish();
  return AsrOutcome::finished;
}

}  // namespace

AsrOutcome train_asr(const AsrTrainOptions& o) { return AsrRun(o).run(); }

}  // namespace recurrent::tasks
