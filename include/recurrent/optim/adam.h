// recurrent/optim/adam.h — Adam (Kingma & Ba 2015) with L2 decay, and AdamW (Loshchilov & Hutter
// 2019) with decoupled decay; AMSGrad (Reddi et al. 2018) optional.
//
// PyTorch 1.13 torch/optim/adam.py / adamw.py (non-capturable path), per element, t = step (1-based):
//   Adam : g = g + wd * p                 AdamW: p = p * (1 - lr * wd)
//   m    = beta1 * m + (1 - beta1) * g                       state "exp_avg"
//   v    = beta2 * v + (1 - beta2) * g * g                   state "exp_avg_sq"
//   vmax = max(vmax, v)        (amsgrad; the denominator then uses vmax) state "max_exp_avg_sq"
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p    = p - (lr / (1 - beta1^t)) * m / denom
#pragma once

#include "recurrent/optim/optimizer.h"

namespace recurrent {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: L2 added to the gradient; AdamW: decoupled
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  Adam(NamedParams params, const AdamOptions& o) : Adam(std::move(params), o, false) {}
  Adam(const std::vector<Var>& params, const AdamOptions& o) : Adam(index_names(params), o, false) {}
  const char* kind() const override { return decoupled_ ? "adamw" : "adam"; }
  const AdamOptions& options() const { return o_; }

 protected:
  Adam(NamedParams params, const AdamOptions& o, bool decoupled);
  void update(int64_t step, float* p, const float* g, float* const* buf, int64_t n) override;

 private:
  AdamOptions o_;
  bool decoupled_;
};

// AdamW: PyTorch's default weight_decay is 1e-2 (vs 0 for Adam); pass it explicitly.
AdamOptions adamw_defaults();

class AdamW : public Adam {
 public:
  AdamW(NamedParams params, const AdamOptions& o) : Adam(std::move(params), o, true) {}
  AdamW(const std::vector<Var>& params, const AdamOptions& o) : Adam(index_names(params), o, true) {}
};

}  // namespace recurrent
