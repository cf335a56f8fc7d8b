// recurrent/optim/rmsprop.h — RMSprop (Tieleman & Hinton 2012; centered: Graves 2013).
//
// PyTorch 1.13 torch/optim/rmsprop.py, per element:
//   g   = g + wd * p
//   sq  = alpha * sq + (1 - alpha) * g * g                  state "square_avg"
//   ga  = alpha * ga + (1 - alpha) * g     (centered)       state "grad_avg"
//   avg = sqrt(sq - ga * ga) + eps   (centered)   |  sqrt(sq) + eps
//   momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf   state "momentum_buffer"
//   otherwise:    p = p - lr * g / avg
// Note: eps is added OUTSIDE the square root (unlike TensorFlow's RMSprop).
#pragma once

#include "recurrent/optim/optimizer.h"

namespace recurrent {

struct RmspropOptions {
  double lr = 0.01;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

class Rmsprop : public Optimizer {
 public:
  Rmsprop(NamedParams params, const RmspropOptions& o);
  Rmsprop(const std::vector<Var>& params, const RmspropOptions& o) : Rmsprop(index_names(params), o) {}
  const char* kind() const override { return "rmsprop"; }
  const RmspropOptions& options() const { return o_; }

 protected:
  void update(int64_t step, float* p, const float* g, float* const* buf, int64_t n) override;

 private:
  RmspropOptions o_;
};

}  // namespace recurrent
