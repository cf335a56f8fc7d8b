// ReduceLROnPlateau, PyTorch 1.13 semantics. Rules in include/recurrent/optim/plateau.h.
#include "recurrent/optim/plateau.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "recurrent/core/error.h"

namespace recurrent {

ReduceLROnPlateau::ReduceLROnPlateau(double initial_lr, const PlateauOptions& o) : o_(o) {
  RC_CHECK(std::isfinite(initial_lr) && initial_lr >= 0.0, "ReduceLROnPlateau lr", "expected a finite lr >= 0, got ",
           initial_lr);
  RC_CHECK(o.factor > 0.0 && o.factor < 1.0, "ReduceLROnPlateau factor", "expected in (0, 1), got ", o.factor);
  RC_CHECK(o.patience >= 0, "ReduceLROnPlateau patience", "expected >= 0, got ", o.patience);
  RC_CHECK(std::isfinite(o.threshold) && o.threshold >= 0.0, "ReduceLROnPlateau threshold", "expected >= 0, got ",
           o.threshold);
  RC_CHECK(o.cooldown >= 0, "ReduceLROnPlateau cooldown", "expected >= 0, got ", o.cooldown);
  RC_CHECK(std::isfinite(o.min_lr) && o.min_lr >= 0.0, "ReduceLROnPlateau min_lr", "expected >= 0, got ", o.min_lr);
  RC_CHECK(std::isfinite(o.eps) && o.eps >= 0.0, "ReduceLROnPlateau eps", "expected >= 0, got ", o.eps);
  s_.lr = initial_lr;
  const double inf = std::numeric_limits<double>::infinity();
  s_.best = o.mode == PlateauMode::min ? inf : -inf;  // PyTorch's mode_worse
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  const bool rel = o_.threshold_mode == ThresholdMode::rel;
  if (o_.mode == PlateauMode::min) return rel ? a < best * (1.0 - o_.threshold) : a < best - o_.threshold;
  return rel ? a > best * (o_.threshold + 1.0) : a > best + o_.threshold;
}

double ReduceLROnPlateau::step(double metric) {
  s_.last_epoch += 1;
  if (is_better(metric, s_.best)) {
    s_.best = metric;
    s_.num_bad_epochs = 0;
  } else {
    s_.num_bad_epochs += 1;
  }
  if (s_.cooldown_counter > 0) {
    s_.cooldown_counter -= 1;
    s_.num_bad_epochs = 0;  // bad epochs during cooldown are ignored
  }
  if (s_.num_bad_epochs > o_.patience) {
    const double reduced = std::max(s_.lr * o_.factor, o_.min_lr);
    if (s_.lr - reduced > o_.eps) s_.lr = reduced;
    s_.cooldown_counter = o_.cooldown;
    s_.num_bad_epochs = 0;
  }
  return s_.lr;
}

void ReduceLROnPlateau::load_state(const PlateauState& s) {
  RC_CHECK(std::isfinite(s.lr) && s.lr >= 0.0, "ReduceLROnPlateau state", "lr must be finite and >= 0, got ", s.lr);
  RC_CHECK(!std::isnan(s.best), "ReduceLROnPlateau state", "best must not be NaN");
  RC_CHECK(s.num_bad_epochs >= 0 && s.cooldown_counter >= 0 && s.last_epoch >= 0, "ReduceLROnPlateau state",
           "counters must be >= 0, got num_bad_epochs ", s.num_bad_epochs, ", cooldown_counter ", s.cooldown_counter,
           ", last_epoch ", s.last_epoch);
  s_ = s;
}

}  // namespace recurrent
