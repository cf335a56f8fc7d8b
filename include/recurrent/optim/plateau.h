// recurrent/optim/plateau.h — ReduceLROnPlateau, PyTorch 1.13 semantics (torch/optim/lr_scheduler.py).
//
// step(metric), once per evaluation:
//   better = mode min, rel: metric < best * (1 - threshold)    min, abs: metric < best - threshold
//            mode max, rel: metric > best * (1 + threshold)    max, abs: metric > best + threshold
//   better ? (best = metric, bad = 0) : ++bad          (best starts at +inf for min, -inf for max;
//                                                       a NaN metric is never better)
//   in cooldown (cooldown_counter > 0): --cooldown_counter, bad = 0
//   bad > patience: new = max(lr * factor, min_lr); lr = new if lr - new > eps;
//                   cooldown_counter = cooldown; bad = 0
// The scheduler owns the current lr (a double) and returns it; the caller applies it:
//   opt.set_lr(plateau.step(val_loss));
// state()/load_state() carry everything that changes (best, counters, lr) as doubles/integers, so a
// resumed run takes identical decisions; the trainer stores them in its checkpoint metadata.
#pragma once

#include <cstdint>

namespace recurrent {

enum class PlateauMode { min, max };
enum class ThresholdMode { rel, abs };

struct PlateauOptions {
  PlateauMode mode = PlateauMode::min;
  double factor = 0.1;                 // in (0, 1)
  int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::rel;
  int64_t cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;
};

struct PlateauState {
  double lr = 0.0;
  double best = 0.0;           // +-inf before the first step
  int64_t num_bad_epochs = 0;
  int64_t cooldown_counter = 0;
  int64_t last_epoch = 0;      // number of step() calls
};

class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(double initial_lr, const PlateauOptions& o);

  double step(double metric);  // returns the lr to use from now on
  double lr() const { return s_.lr; }
  bool is_better(double metric, double best) const;

  const PlateauOptions& options() const { return o_; }
  const PlateauState& state() const { return s_; }
  void load_state(const PlateauState& s);  // checks lr >= 0, counters >= 0

 private:
  PlateauOptions o_;
  PlateauState s_;
};

}  // namespace recurrent
