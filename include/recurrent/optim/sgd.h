// recurrent/optim/sgd.h — stochastic gradient descent with momentum, dampening, Nesterov, L2 decay.
//
// PyTorch 1.13 torch/optim/sgd.py, per element (t = this parameter's step, 1-based):
//   d   = g + wd * p                                   (when wd != 0)
//   buf = d                            at t = 1        (when momentum != 0; state "momentum_buffer")
//   buf = momentum * buf + (1 - dampening) * d   for t > 1
//   d   = nesterov ? d + momentum * buf : buf
//   p   = p - lr * d
#pragma once

#include "recurrent/optim/optimizer.h"

namespace recurrent {

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0 (as PyTorch)
};

class Sgd : public Optimizer {
 public:
  Sgd(NamedParams params, const SgdOptions& o);
  Sgd(const std::vector<Var>& params, const SgdOptions& o) : Sgd(index_names(params), o) {}
  const char* kind() const override { return "sgd"; }
  const SgdOptions& options() const { return o_; }

 protected:
  void update(int64_t step, float* p, const float* g, float* const* buf, int64_t n) override;
  bool zero_gradient_is_no_op() const override { return o_.momentum == 0.0 && o_.weight_decay == 0.0; }

 private:
  SgdOptions o_;
};

}  // namespace recurrent
