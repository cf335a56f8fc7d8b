// `recurrent train music`: JSON piano rolls (data/chorales.h) → minibatches of whole chorales (padded,
// masked) → teacher-forced training on the shared epoch loop (train/epochs.h) with the validation NLL
// per step after each epoch, best/last checkpoints, metrics CSV (with wall seconds, for learning curves
// against updates and time), early stopping after --patience epochs without a better validation NLL,
// and results.json with the best model's validation and test figures.
//
// Best = the lowest validation NLL per step; the test figures are those of the best weights. Resume is
// exact: each epoch's order is epoch_order(seed, 0x6d757369 + epoch), and last.safetensors holds the
// position, optimizer state, best figure and epoch, and the dropout RNG states.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/music.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/dist.h"
#include "recurrent/train/epochs.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using data::ChoraleSplit;
constexpr uint64_t kOrderStream = 0x6d757369ull;

json eval_json(const MusicEval& e) {
  return {{"chorales", e.chorales}, {"steps", e.steps}, {"nll_per_step", e.nll_per_step},
          {"frame_accuracy", e.frame_accuracy}};
}

class MusicRun : public train::EpochTask {
 public:
  explicit MusicRun(const MusicTrainOptions& o) : o_(o) {}
  MusicOutcome run();

  int64_t batches_per_epoch() const override {
    return (static_cast<int64_t>(train_rolls().size()) + o_.batch - 1) / o_.batch;
  }
  void begin_epoch(int64_t epoch) override { perm_ = train::epoch_order(train_rolls().size(), o_.seed, kOrderStream, epoch); }
  train::StepStats train_batch(int64_t epoch, int64_t batch, int64_t step) override;
  void end_epoch(const train::EpochPosition& pos, bool partial, double train_loss, double grad_norm) override;
  void save_last(const train::EpochPosition& pos) override {
    pos_ = pos;
    save(path("last.safetensors"), true);
  }
  // --patience: the last `patience` completed epochs brought no better validation NLL.
  bool stop_early() const override {
    return o_.patience > 0 && best_epoch_ >= 0 && pos_.epoch - 1 - best_epoch_ >= o_.patience;
  }

 private:
  const std::vector<Tensor>& train_rolls() const { return data_.part(ChoraleSplit::train); }
  void setup_new();
  void setup_resume();
  void save(const std::string& file, bool with_state);
  void start_line(bool resume);
  void finish();
  std::string path(const char* f) const { return (fs::path(o_.out) / f).string(); }
  train::NamedRngs rngs() { return train::NamedRngs{{"dropout_rng", &model_->dropout_rng()}, {"rnn_dropout_rng", &model_->rnn().dropout_rng()}}; }

  MusicTrainOptions o_;
  MusicConfig cfg_;
  data::ChoraleSet data_;
  std::unique_ptr<MusicModel> model_;
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<train::MetricsCsv> csv_;
  train::Progress progress_{10.0};
  train::EpochPosition pos_;
  std::vector<size_t> perm_;
  double best_nll_ = INFINITY;
  int64_t best_epoch_ = -1;  // 0-based epoch of best.safetensors; −1: none yet
};

void MusicRun::setup_new() {
  cfg_.layers = layer_specs(o_.cells, o_.hidden, o_.layers, o_.recurrent_dropout, o_.zoneout);
  cfg_.dropout = static_cast<float>(o_.dropout);
  cfg_.validate();
  data_ = data::read_chorales(o_.data);
  Rng init(o_.seed);
  model_ = std::make_unique<MusicModel>(cfg_, init);
  model_->init_output_bias(train_rolls());
  opt_ = train::make_optimizer(o_.optimizer, model_->named_parameters(), o_.lr);
}

void MusicRun::setup_resume() {
  const std::string file = (fs::path(o_.resume) / "last.safetensors").string();
  RC_CHECK(fs::exists(file), "--resume", "no last.safetensors in ", o_.resume);
  train::LoadedCheckpoint ck = train::read_checkpoint(file);
  RC_CHECK(!ck.train_json.empty(), file, "weights-only file: cannot resume training from it");
  cfg_ = MusicConfig::from_json(ck.config_json, file);
  data_ = data::read_chorales(o_.data);
  Rng init(o_.seed);
  model_ = std::make_unique<MusicModel>(cfg_, init);
  train::load_model_weights(ck, *model_);
  train::EpochState st = train::read_epoch_state(ck, model_->named_parameters(), rngs(), file);
  opt_ = std::move(st.opt);
  pos_ = st.pos;
  o_.seed = st.seed;
  try {
    const json t = json::parse(ck.train_json);
    best_nll_ = std::stod(t.at("best_nll").get<std::string>());
    best_epoch_ = io::json_int_at<int64_t>(t, "best_epoch");
  } catch (const json::exception& e) {
    throw Error(file, std::string("bad training state: ") + e.what());
  }
}

void MusicRun::save(const std::string& file, bool with_state) {
  train::CheckpointData d;
  d.config_json = cfg_.to_json();
  d.command_json = o_.command;
  if (with_state) {
    const json t = {{"best_nll", train::fmt_num(best_nll_, 17)}, {"best_epoch", best_epoch_}};
    d.train_json = train::epoch_state_json(*opt_, pos_, o_.seed, rngs(), t.dump());
  }
  train::save_checkpoint(file, *model_, with_state ? opt_.get() : nullptr, d);
}

train::StepStats MusicRun::train_batch(int64_t, int64_t batch, int64_t step) {
  std::vector<size_t> which;
  const size_t begin = static_cast<size_t>(batch * o_.batch), end = std::min(perm_.size(), begin + o_.batch);
  const train::Shard sh = train::my_shard(static_cast<int64_t>(end - begin));  // under mpirun: this rank's rolls
  for (size_t i = begin + sh.begin; i < begin + sh.end; ++i) which.push_back(perm_[i]);
  if (which.empty()) return train::train_step([] { return Var(); }, *opt_, o_.clip, step, 0.0);  // nothing for this rank
  const MusicBatch b = music_batch(train_rolls(), which);
  double steps = 0;  // the loss is a mean over the real (unmasked) time steps
  for (float m : b.mask) steps += m;
  return train::train_step([&] { return music_loss(*model_, b); }, *opt_, o_.clip, step, steps);
}

void MusicRun::end_epoch(const train::EpochPosition& pos, bool partial, double train_loss, double grad_norm) {
  pos_ = pos;
  const MusicEval v = evaluate_music(*model_, data_.part(ChoraleSplit::valid));
  RC_CHECK(std::isfinite(v.nll_per_step), "validation", "the validation NLL is ", v.nll_per_step, " after step ", pos.step);
  auto opt_num = [](double x) { return std::isnan(x) ? std::string() : train::fmt_num(x); };
  csv_->row({std::to_string(pos.step), std::to_string(pos.epoch), opt_num(train_loss), train::fmt_num(v.nll_per_step),
             train::fmt_num(v.frame_accuracy), opt_num(grad_norm), train::fmt_num(opt_->lr()),
             train::fmt_num(pos.elapsed, 5)});
  const bool better = v.nll_per_step < best_nll_;
  if (better) best_nll_ = v.nll_per_step, best_epoch_ = pos.epoch;
  if (!o_.quiet) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "epoch %lld%s  step %lld  train NLL/step %.4f  valid NLL/step %.4f  frame acc %.4f%s  %s",
                  static_cast<long long>(pos.epoch + 1), partial ? " (partial)" : "", static_cast<long long>(pos.step),
                  train_loss, v.nll_per_step, v.frame_accuracy, better ? " *" : "",
                  train::format_duration(pos.elapsed).c_str());
    progress_.line(buf);
  }
  if (better) save(path("best.safetensors"), false);
}

void MusicRun::finish() {
  if (!train::is_writer()) return;  // under mpirun rank 0 evaluates the best model and writes the results
  if (best_epoch_ >= 0) train::load_model_weights(train::read_checkpoint(path("best.safetensors")), *model_);
  const MusicEval v = evaluate_music(*model_, data_.part(ChoraleSplit::valid));
  const MusicEval t = evaluate_music(*model_, data_.part(ChoraleSplit::test));
  const json r = {{"steps", pos_.step}, {"epochs_completed", pos_.epoch}, {"best_epoch", best_epoch_ + 1},
                  {"early_stopped", stop_early()}, {"train_seconds", pos_.elapsed},
                  {"parameters", model_->num_parameters()}, {"threads", num_threads()}, {"cell", o_.cells},
                  {"hidden", o_.hidden}, {"seed", o_.seed}, {"valid", eval_json(v)}, {"test", eval_json(t)}};
  for (const auto& [name, e] : {std::pair{"valid", &v}, std::pair{"test", &t}})
    std::printf("%s: NLL per step %.4f  frame accuracy %.4f  (%lld chorales, %lld steps)\n", name, e->nll_per_step,
                e->frame_accuracy, static_cast<long long>(e->chorales), static_cast<long long>(e->steps));
  std::fflush(stdout);
  io::write_file_atomic(path("results.json"), r.dump(2) + "\n");
}

void MusicRun::start_line(bool resume) {
  if (o_.quiet) return;
  char buf[400];
  std::snprintf(buf, sizeof buf, "%s music model: %zu / %zu / %zu chorales (%lld / %lld / %lld steps) in %s; "
                "%lld parameters, %d thread%s",
                resume ? "resuming" : "training", data_.part(ChoraleSplit::train).size(),
                data_.part(ChoraleSplit::valid).size(), data_.part(ChoraleSplit::test).size(),
                static_cast<long long>(data_.steps(ChoraleSplit::train)), static_cast<long long>(data_.steps(ChoraleSplit::valid)),
                static_cast<long long>(data_.steps(ChoraleSplit::test)), o_.data.c_str(),
                static_cast<long long>(model_->num_parameters()), num_threads(), num_threads() == 1 ? "" : "s");
  progress_.line(buf);
}

MusicOutcome MusicRun::run() {
  if (o_.out.empty()) o_.out = o_.resume;
  train::RunDir dir(o_);  // refuses another run's folder before any work
  RC_CHECK(o_.epochs > 0 || o_.time_budget > 0 || o_.max_steps > 0, "--epochs", "give --epochs N or --time-budget T");
  RC_CHECK(o_.batch >= 1, "--batch", "expected >= 1, got ", o_.batch);
  RC_CHECK(o_.clip >= 0, "--clip", "expected >= 0 (0: no clipping), got ", o_.clip);
  RC_CHECK(o_.patience >= 0, "--patience", "expected >= 0 (0: off), got ", o_.patience);
  const bool resume = !o_.resume.empty();
  if (resume) {
    setup_resume();
    if (!stop_early()) train::check_budget_left(o_, pos_.step, pos_.epoch, pos_.elapsed);
  } else {
    setup_new();
  }
  dir.create();
  csv_ = std::make_unique<train::MetricsCsv>(
      path("metrics.csv"),
      std::vector<std::string>{"step", "epoch", "train_nll", "valid_nll", "valid_frame_accuracy", "grad_norm", "lr",
                               "elapsed_s"},
      resume, pos_.step);
  progress_ = train::Progress(o_.log_every);
  start_line(resume);
  model_->train();
  const train::EpochLimits lim{o_.epochs, o_.time_budget, o_.max_steps, o_.save_every_steps, o_.save_every_seconds};
  if (!stop_early() && train::run_epochs(*this, pos_, lim, progress_, o_.quiet, train::resume_command("music", o_.out)) ==
                           train::EpochOutcome::stopped)
    return MusicOutcome::stopped;
  if (stop_early() && !o_.quiet)
    progress_.line("early stop: no better validation NLL in " + std::to_string(o_.patience) + " epochs (best: epoch " +
                   std::to_string(best_epoch_ + 1) + ")");
  finish();
  return MusicOutcome::finished;
}

}  // namespace

MusicOutcome train_music(const MusicTrainOptions& o) { return MusicRun(o).run(); }

}  // namespace recurrent::tasks
