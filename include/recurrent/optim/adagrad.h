// recurrent/optim/adagrad.h — Adagrad (Duchi et al. 2011).
//
// PyTorch 1.13 torch/optim/adagrad.py, per element, t = step (1-based):
//   g   = g + wd * p
//   clr = lr / (1 + (t - 1) * lr_decay)
//   sum = sum + g * g              state "sum", starts at initial_accumulator_value
//   p   = p - clr * g / (sqrt(sum) + eps)
#pragma once

#include "recurrent/optim/optimizer.h"

namespace recurrent {

struct AdagradOptions {
  double lr = 0.01;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
};

class Adagrad : public Optimizer {
 public:
  Adagrad(NamedParams params, const AdagradOptions& o);
  Adagrad(const std::vector<Var>& params, const AdagradOptions& o) : Adagrad(index_names(params), o) {}
  const char* kind() const override { return "adagrad"; }
  const AdagradOptions& options() const { return o_; }

 protected:
  float initial_value(size_t) const override { return static_cast<float>(o_.initial_accumulator_value); }
  void update(int64_t step, float* p, const float* g, float* const* buf, int64_t n) override;

 private:
  AdagradOptions o_;
};

}  // namespace recurrent
