// recurrent/train/epochs.h — the epoch loop of the minibatch tasks (forecast; the shape of
// `train classify`'s loop, taken out so a task supplies only its batches, validation and files).
//
//   for epoch = pos.epoch …  (until --epochs, or for ever with a --time-budget / --max-steps):
//     task.begin_epoch(epoch)                        (e.g. draw the epoch's order: epoch_order)
//     for batch = pos.batch … nb−1:  stop? → break;  --save-every due? → task.save_last(pos);  stats = task.train_batch(…);  progress line
//     stopped by Ctrl-C or --max-steps mid-epoch → task.save_last(pos) and return `stopped`
//       (the position points INTO the epoch, so --resume continues with the same steps)
//     task.end_epoch(pos, partial, mean train loss, mean grad norm)   (validate, CSV, best)
//     epoch done → pos.epoch+1, batch 0 → task.save_last(pos) → task.stop_early()? → return `finished`
//   the --time-budget ends the loop after a (partial) epoch's validation: `finished`.
//
// Resume is exact when the task's batches depend only on (seed, epoch, batch) — epoch_order does —
// and it restores the optimizer and dropout RNG states with the position.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/loop.h"
#include "recurrent/train/run.h"

namespace recurrent::train {

struct EpochPosition {
  int64_t step = 0;      // optimisation steps done in all
  int64_t epoch = 0;     // epochs completed
  int64_t batch = 0;     // batches done in the current epoch
  double elapsed = 0.0;  // training wall seconds, summed over resumed runs
};

struct EpochLimits {
  int64_t epochs = 0;        // 0: no limit (then time_budget or max_steps must be set)
  double time_budget = 0.0;  // seconds; 0: none
  int64_t max_steps = 0;     // stop like an interrupt (save last, return stopped); 0: none
  int64_t save_every_steps = 0;    // periodic save_last mid-epoch (--save-every; RunOptions); 0: none
  double save_every_seconds = 0.0;
};

class EpochTask {
 public:
  virtual ~EpochTask() = default;
  virtual int64_t batches_per_epoch() const = 0;
  virtual void begin_epoch(int64_t epoch) = 0;
  // One optimisation step (normally train::train_step) on batch `batch`; `step` is 1-based.
  virtual StepStats train_batch(int64_t epoch, int64_t batch, int64_t step) = 0;
  // After every (possibly partial) epoch: validation, metrics row, best checkpoint, summary line.
  virtual void end_epoch(const EpochPosition& pos, bool partial, double train_loss, double grad_norm) = 0;
  virtual void save_last(const EpochPosition& pos) = 0;  // the full state for --resume
  // After each completed epoch (and its save_last): true ends the loop as `finished` (early stopping,
  // e.g. --patience epochs without a better validation figure).
  virtual bool stop_early() const { return false; }
};

enum class EpochOutcome { finished, stopped };

// Runs the loop above from `pos` (updated in place). Installs the Ctrl-C handler. `progress` gets an
// in-place line "epoch E  P%  step S  loss L" (L: exponential moving average) unless quiet; the
// "stopped/interrupted … continue with: HINT" line shows `resume_hint` (train::resume_command).
EpochOutcome run_epochs(EpochTask& task, EpochPosition& pos, const EpochLimits& lim, Progress& progress, bool quiet,
                        const std::string& resume_hint);

// The "recurrent.train" JSON of an EpochTask's last checkpoint: {"optimizer", "lr", "step", "epoch", "batch",
// "elapsed", "seed", "threads", each named RNG's state} merged with the task's own fields (`task_fields`, a JSON
// object's text: its best validation figure and epoch, ...). Reals are written with 17 digits (exact).
using NamedRngs = std::vector<std::pair<std::string, Rng*>>;
std::string epoch_state_json(const Optimizer& opt, const EpochPosition& pos, uint64_t seed, const NamedRngs& rngs,
                             const std::string& task_fields);
// Reads what epoch_state_json wrote: a new optimizer on `params` with the checkpoint's state, the position, the
// seed, and the named RNGs' states (set in place). A malformed state: Error(file, "bad training state: ...").
struct EpochState {
  std::unique_ptr<Optimizer> opt;
  EpochPosition pos;
  uint64_t seed = 0;
};
EpochState read_epoch_state(const LoadedCheckpoint& ck, const NamedParams& params, const NamedRngs& rngs,
                            const std::string& file);

// A permutation of 0..n−1 drawn from Rng(seed, stream + epoch) by Fisher–Yates: a function of
// (seed, stream, epoch) only, so a resumed run draws the same orders.
std::vector<size_t> epoch_order(size_t n, uint64_t seed, uint64_t stream, int64_t epoch);

}  // namespace recurrent::train
