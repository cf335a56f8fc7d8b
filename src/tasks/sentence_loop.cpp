// The minibatch-of-sentences training loop (contract in sentence_loop.h).
#include "tasks/sentence_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/optim/adagrad.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/rmsprop.h"
#include "recurrent/optim/sgd.h"
#include "recurrent/train/dist.h"
#include "recurrent/io/json_int.h"

namespace recurrent::tasks {

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
std::string dstr(double v) { return train::fmt_num(v, 17); }
double dval(const json& j, const char* k) { return std::stod(j.at(k).get<std::string>()); }

// train::make_optimizer plus an explicit weight decay (wd < 0: the optimizer's own default, i.e. 0,
// or PyTorch's 1e-2 for adamw).
std::unique_ptr<Optimizer> make_optimizer_wd(const std::string& name, const NamedParams& params, double lr, double wd) {
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
}  // namespace

SentenceLoop::SentenceLoop(SentenceLoopOptions o) : o_(std::move(o)) {
  if (o_.out.empty()) o_.out = o_.resume;
  dir_ = std::make_unique<train::RunDir>(o_);
}

std::string SentenceLoop::path(const char* f) const { return (fs::path(o_.out) / f).string(); }

void SentenceLoop::check_options() const {
  RC_CHECK(o_.epochs > 0 || o_.time_budget > 0 || o_.max_steps > 0, "--epochs", "give --epochs N or --time-budget T");
  RC_CHECK(o_.batch >= 1, "--batch", "expected >= 1, got ", o_.batch);
  RC_CHECK(o_.clip >= 0, "--clip", "expected >= 0 (0: no clipping), got ", o_.clip);
  RC_CHECK(o_.patience >= 0, "--patience", "expected >= 0 (0: off), got ", o_.patience);
}

train::LoadedCheckpoint SentenceLoop::read_resume() const {
  const std::string file = (fs::path(o_.resume) / "last.safetensors").string();
  RC_CHECK(fs::exists(file), "--resume", "no last.safetensors in ", o_.resume);
  train::LoadedCheckpoint ck = train::read_checkpoint(file);
  RC_CHECK(!ck.train_json.empty(), file, "weights-only file: cannot resume training from it");
  return ck;
}

void SentenceLoop::resume(const train::LoadedCheckpoint& ck, SentenceTask& task) {
  const std::string file = (fs::path(o_.resume) / "last.safetensors").string();
  train::load_model_weights(ck, task.model());
  try {
    json t = json::parse(ck.train_json);
    // The checkpoint's weight decay (absent in checkpoints from before --weight-decay: the default).
    o_.weight_decay = std::stod(t.value("weight_decay", std::string("-1")));
    opt_ = make_optimizer_wd(t.at("optimizer").get<std::string>(), task.model().named_parameters(), dval(t, "lr"),
                             o_.weight_decay);
    opt_->load_state(ck.optim);
    pos_.step = io::json_int_at<int64_t>(t, "step");
    pos_.epoch = io::json_int_at<int64_t>(t, "epoch");
    pos_.batch = io::json_int_at<int64_t>(t, "batch");
    pos_.elapsed = dval(t, "elapsed");
    pos_.best_score = dval(t, "best_valid");
    pos_.best_loss = dval(t, "best_loss");
    pos_.best_saved = t.at("best_saved").get<bool>();
    pos_.best_epoch = io::json_int_or<int64_t>(t, "best_epoch", -1);
    o_.seed = io::json_int_at<uint64_t>(t, "seed");
    for (auto& [name, rng] : task.rngs()) train::rng_state_from_json(*rng, t.at(name).dump(), file);
  } catch (const json::exception& e) {
    throw Error(file, std::string("bad training state: ") + e.what());
  }
}

void SentenceLoop::fresh(SentenceTask& task, const std::string& optimizer, double lr) {
  opt_ = make_optimizer_wd(optimizer, task.model().named_parameters(), lr, o_.weight_decay);
}

void SentenceLoop::save(SentenceTask& task, const std::string& file, bool with_state) {
  train::CheckpointData d;
  d.config_json = task.config_json();
  d.command_json = o_.command;
  d.extra = task.extra_tensors();
  d.baseline_json = task.baseline_json();
  if (with_state) {
    json t = {{"optimizer", opt_->kind()}, {"lr", dstr(opt_->lr())}, {"step", pos_.step}, {"epoch", pos_.epoch},
              {"batch", pos_.batch}, {"elapsed", dstr(pos_.elapsed)}, {"best_valid", dstr(pos_.best_score)},
              {"best_loss", dstr(pos_.best_loss)}, {"best_saved", pos_.best_saved}, {"seed", o_.seed},
              {"best_epoch", pos_.best_epoch}, {"weight_decay", dstr(o_.weight_decay)}, {"threads", num_threads()}};
    for (auto& [name, rng] : task.rngs()) t[name] = json::parse(train::rng_state_to_json(*rng));
    d.train_json = t.dump();
  }
  train::save_checkpoint(file, task.model(), with_state ? opt_.get() : nullptr, d);
}

std::vector<size_t> SentenceLoop::order(int64_t epoch, size_t n) const {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < p.size(); ++i) p[i] = i;
  Rng r(o_.seed, o_.order_stream + static_cast<uint64_t>(epoch));
  for (size_t i = p.size(); i > 1; --i) std::swap(p[i - 1], p[r.below(i)]);  // Fisher–Yates
  return p;
}

bool SentenceLoop::should_stop() const {
  if (o_.max_steps > 0 && pos_.step >= o_.max_steps) return true;
  return train::stop_requested(o_.time_budget > 0 && pos_.elapsed >= o_.time_budget);  // agreed by all ranks
}

// --patience N: the last N completed epochs (pos_.epoch of them done) brought no better validation.
bool SentenceLoop::patience_exhausted() {
  if (!stopped_early()) return false;
  if (!o_.quiet)
    progress_.line("early stop: no better validation " + o_.metric + " in " + std::to_string(o_.patience) + " epochs");
  return true;
}

// One optimisation step on batch pos_.batch of this epoch's order `perm` (nb batches per epoch).
void SentenceLoop::train_batch(SentenceTask& task, const std::vector<size_t>& perm, int64_t nb) {
  const int64_t end = std::min<int64_t>((pos_.batch + 1) * o_.batch, static_cast<int64_t>(perm.size()));
  const train::Shard sh = train::my_shard(end - pos_.batch * o_.batch);  // this rank's items (all: one process)
  const auto first = perm.begin() + pos_.batch * o_.batch;
  const std::vector<size_t> items(first + sh.begin, first + sh.end);
  train::StepStats st = train::train_step([&] { return task.batch_loss(items); }, *opt_, o_.clip, pos_.step + 1,
                                          items.empty() ? 0.0 : task.batch_weight(items));
  ++pos_.step, ++pos_.batch;
  acc_loss_ += st.loss, acc_norm_ += st.grad_norm, ++acc_steps_;
  ema_loss_ = ema_set_ ? 0.95 * ema_loss_ + 0.05 * st.loss : st.loss;
  ema_set_ = true;
  if (!o_.quiet) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "epoch %lld %3.0f%%  step %lld  loss %.4f  %s", static_cast<long long>(pos_.epoch + 1),
                  100.0 * pos_.batch / nb, static_cast<long long>(pos_.step), ema_loss_,
                  train::format_duration(pos_.elapsed).c_str());
    progress_.update(buf);
  }
}

void SentenceLoop::end_epoch(SentenceTask& task, bool partial) {
  const ValidScore v = task.validate();
  RC_CHECK(std::isfinite(v.loss), "validation", "the validation loss is ", v.loss, " after step ", pos_.step);
  const double n = std::max<int64_t>(acc_steps_, 1);
  csv_->row({std::to_string(pos_.step), std::to_string(pos_.epoch), acc_steps_ ? train::fmt_num(acc_loss_ / n) : "",
             train::fmt_num(v.loss), train::fmt_num(v.score), acc_steps_ ? train::fmt_num(acc_norm_ / n) : "",
             train::fmt_num(opt_->lr()), train::fmt_num(pos_.elapsed, 5)});
  acc_loss_ = acc_norm_ = 0, acc_steps_ = 0;
  const bool better = v.score > pos_.best_score || (v.score == pos_.best_score && v.loss < pos_.best_loss);
  if (better) pos_.best_score = v.score, pos_.best_loss = v.loss, pos_.best_epoch = pos_.epoch;
  if (!o_.quiet) {
    char buf[320];
    std::snprintf(buf, sizeof buf, "epoch %lld%s  step %lld  train loss %.4f  valid loss %.4f  %s%s  %s",
                  static_cast<long long>(pos_.epoch + 1), partial ? " (partial)" : "", static_cast<long long>(pos_.step),
                  ema_loss_, v.loss, v.summary.c_str(), better ? " *" : "", train::format_duration(pos_.elapsed).c_str());
    progress_.line(buf);
  }
  if (better) {
    save(task, path("best.safetensors"), false);
    pos_.best_saved = true;
  }
}

void SentenceLoop::load_best(SentenceTask& task) const {
  if (pos_.best_saved) train::load_model_weights(train::read_checkpoint(path("best.safetensors")), task.model());
}

LoopOutcome SentenceLoop::run(SentenceTask& task, const std::string& banner) {
  check_options();
  const bool resume = !o_.resume.empty();
  if (resume && o_.evaluate_only) {  // train no further: the task evaluates the best weights (train/run.h)
    dir_->create();
    task.model().eval();
    return LoopOutcome::finished;
  }
  if (resume) train::check_budget_left(o_, pos_.step, pos_.epoch, pos_.elapsed);
  dir_->create();
  csv_ = std::make_unique<train::MetricsCsv>(
      path("metrics.csv"),
      std::vector<std::string>{"step", "epoch", "train_loss", "valid_loss", "valid_" + o_.metric, "grad_norm", "lr",
                               "elapsed_s"},
      resume, pos_.step);
  progress_ = train::Progress(o_.log_every);
  if (!o_.quiet) progress_.line(banner);
  std::vector<Rng*> rngs;
  for (auto& [name, r] : task.rngs()) rngs.push_back(r);
  train::rank_streams(rngs);  // under mpirun: each rank its own dropout masks
  train::refuse_unsynced_buffers(task.model());
  train::clear_interrupt();
  train::install_interrupt_handler();
  task.model().train();
  const auto t0 = Clock::now();
  const double elapsed0 = pos_.elapsed;
  auto tick = [&] { pos_.elapsed = elapsed0 + std::chrono::duration<double>(Clock::now() - t0).count(); };
  const int64_t n = task.train_items();
  const int64_t nb = (n + o_.batch - 1) / o_.batch;
  train::SaveSchedule saves(o_, pos_.step, pos_.elapsed);
  while ((o_.epochs == 0 || pos_.epoch < o_.epochs) && !patience_exhausted()) {
    const std::vector<size_t> perm = order(pos_.epoch, static_cast<size_t>(n));
    bool stop = false;
    while (pos_.batch < nb) {
      tick();
      if ((stop = should_stop())) break;
      if (saves.due(pos_.step, pos_.elapsed)) save(task, path("last.safetensors"), true), saves.saved(pos_.step, pos_.elapsed);
      train_batch(task, perm, nb);
    }
    tick();
    if (stop && (train::interrupted() || (o_.max_steps > 0 && pos_.step >= o_.max_steps))) {
      save(task, path("last.safetensors"), true);
      progress_.line(std::string(train::interrupted() ? "interrupted" : "stopped at --max-steps") + " at step " +
                     std::to_string(pos_.step) + "; saved " + path("last.safetensors") + "; continue with: " +
                     train::resume_command(o_.task, o_.out));
      return LoopOutcome::stopped;
    }
    end_epoch(task, stop);  // stop here: the time budget ended mid-epoch
    if (stop) {
      save(task, path("last.safetensors"), true);
      break;
    }
    ++pos_.epoch;
    pos_.batch = 0;
    save(task, path("last.safetensors"), true);
    saves.saved(pos_.step, pos_.elapsed);
  }
  task.model().eval();
  return LoopOutcome::finished;
}

}  // namespace recurrent::tasks
