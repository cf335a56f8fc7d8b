// The training loop shared by the sentence-level tasks (`train classify`, `train tag`, `train condlm`):
// independent items (sentences) in minibatches, a fresh order each epoch, validation after each
// epoch, best/last checkpoints, metrics CSV, progress, NaN checks (train/loop.h's train_step),
// Ctrl-C / --max-steps / --time-budget, and exact resume. Internal to src/tasks.
// Under mpirun (train/dist.h) rank r trains on its shard train::shard(batch, r, N) of every global
// batch; the driver sums the gradients (train_step), so --batch stays the global batch.
//
// Resume is exact: epoch e's order is a permutation drawn from Rng(seed, order_stream + e), so the
// last checkpoint needs only the position (epoch, batch), the optimizer state and the task's RNG
// states (dropout) to continue with the same steps as an uninterrupted run.
//
// A task supplies its model and configuration JSON, the loss of a batch of training items, a
// validation score (higher is better; ties broken by the lower validation loss) and its RNGs.
// Usage:   SentenceLoop loop(opts);  [ck = loop.read_resume(); build the model from ck.config_json;
//          loop.resume(ck, task) | loop.fresh(task, optimizer, lr)];  loop.run(task, banner);
//          if finished: loop.load_best(task) and write results.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/autograd/var.h"
#include "recurrent/core/rng.h"
#include "recurrent/nn/module.h"
#include "recurrent/optim/optimizer.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/loop.h"
#include "recurrent/train/run.h"

namespace recurrent::tasks {

struct SentenceLoopOptions : train::RunOptions {
  std::string task;                     // "classify", "tag", ...: the resume command printed at a stop
  int64_t batch = 32;
  double clip = 5.0;
  uint64_t order_stream = 0;            // Rng stream base of the epoch permutations (one per task)
  std::string metric = "accuracy";      // validation score column: "valid_<metric>" in metrics.csv
  double weight_decay = -1.0;           // < 0: the optimizer's default (0; adamw 1e-2). adam, sgd,
                                        // rmsprop, adagrad: L2 in the gradient; adamw: decoupled
  int64_t patience = 0;                 // > 0: stop after this many epochs without a better validation
};

// The loop options that every sentence task's own options carry: its train::RunOptions, batch and
// clip; the task adds the rest.
template <class TaskOptions>
SentenceLoopOptions common_loop_options(const TaskOptions& o, const std::string& task) {
  SentenceLoopOptions l;
  static_cast<train::RunOptions&>(l) = o;
  l.task = task;
  l.batch = o.batch, l.clip = o.clip;
  return l;
}

struct ValidScore {
  double score = 0.0;    // higher is better (accuracy, F1, −loss)
  double loss = 0.0;     // validation loss (nats); must be finite
  std::string summary;   // shown in the epoch line ("acc 95.1%  F1 0.93")
};

class SentenceTask {
 public:
  virtual ~SentenceTask() = default;
  virtual Module& model() = 0;
  virtual std::string config_json() const = 0;
  virtual int64_t train_items() const = 0;
  virtual Var batch_loss(const std::vector<size_t>& items) = 0;  // mean loss of these training items
  // What batch_loss's mean is over (items; scored tokens; summed sample weights): under mpirun each
  // rank's shard counts this much in the global batch's mean (train::reduce_gradients).
  virtual double batch_weight(const std::vector<size_t>& items) const { return static_cast<double>(items.size()); }
  virtual ValidScore validate() = 0;
  virtual std::vector<std::pair<std::string, Rng*>> rngs() = 0;  // saved as "<name>" in recurrent.train
  // Tensors saved with the model in every checkpoint as "extra.<name>" (e.g. the task's baselines).
  virtual io::NamedTensors extra_tensors() const { return {}; }
  // JSON saved as the checkpoint's "recurrent.baseline" metadata ("": none).
  virtual std::string baseline_json() const { return ""; }
};

enum class LoopOutcome { finished, stopped };  // stopped: Ctrl-C or --max-steps (last checkpoint saved)

class SentenceLoop {
 public:
  // Refuses an --out folder that holds another run (train::RunDir) before any work.
  explicit SentenceLoop(SentenceLoopOptions o);
  // Checks the options that need no data (--epochs, --batch, --clip, --patience).
  void check_options() const;
  // The checkpoint to resume from (--resume DIR/last.safetensors; must hold a training state).
  train::LoadedCheckpoint read_resume() const;
  // After the task built its model from ck.config_json: weights, optimizer (with the checkpoint's
  // weight decay), position (with the best epoch, for --patience), seed, RNGs.
  void resume(const train::LoadedCheckpoint& ck, SentenceTask& task);
  // A new optimizer on the task's parameters, with the options' weight_decay.
  void fresh(SentenceTask& task, const std::string& optimizer, double lr);
  LoopOutcome run(SentenceTask& task, const std::string& banner);
  // Loads DIR/best.safetensors into the task's model (if one was saved).
  void load_best(SentenceTask& task) const;

  int64_t steps() const { return pos_.step; }
  int64_t epochs_completed() const { return pos_.epoch; }
  int64_t best_epoch() const { return pos_.best_epoch; }  // 0-based; −1: none
  // --patience ended the run: its last `patience` completed epochs brought no better validation score.
  bool stopped_early() const {
    return o_.patience > 0 && pos_.best_epoch >= 0 && pos_.epoch - 1 - pos_.best_epoch >= o_.patience;
  }
  double elapsed() const { return pos_.elapsed; }
  uint64_t seed() const { return o_.seed; }
  bool resumed() const { return !o_.resume.empty(); }
  std::string path(const char* f) const;
  void line(const std::string& text) { progress_.line(text); }  // a progress line (stderr)

 private:
  struct Position {
    int64_t step = 0, epoch = 0, batch = 0;
    // ±1e300 rather than ±inf: the values go through JSON text (fmt_num / stod) on resume.
    double elapsed = 0.0, best_score = -1e300, best_loss = 1e300;
    bool best_saved = false;
    int64_t best_epoch = -1;  // 0-based epoch of best.safetensors (for --patience); −1: none yet
  };
  std::vector<size_t> order(int64_t epoch, size_t n) const;
  bool should_stop() const;
  bool patience_exhausted();
  void train_batch(SentenceTask& task, const std::vector<size_t>& perm, int64_t nb);
  void end_epoch(SentenceTask& task, bool partial);
  void save(SentenceTask& task, const std::string& file, bool with_state);

  SentenceLoopOptions o_;
  std::unique_ptr<train::RunDir> dir_;
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<train::MetricsCsv> csv_;
  train::Progress progress_{10.0};
  Position pos_;
  double acc_loss_ = 0, acc_norm_ = 0, ema_loss_ = 0;  // ema_loss_: progress display only
  bool ema_set_ = false;
  int64_t acc_steps_ = 0;
};

}  // namespace recurrent::tasks
