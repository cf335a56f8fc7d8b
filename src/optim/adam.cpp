// Adam / AdamW: options check and the one per-element kernel. Equations in
// include/recurrent/optim/adam.h.
#include "recurrent/optim/adam.h"

#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
std::vector<std::string> adam_buffers(const AdamOptions& o) {
  RC_CHECK(std::isfinite(o.beta1) && o.beta1 >= 0.0 && o.beta1 < 1.0, "adam beta1", "expected in [0, 1), got ", o.beta1);
  RC_CHECK(std::isfinite(o.beta2) && o.beta2 >= 0.0 && o.beta2 < 1.0, "adam beta2", "expected in [0, 1), got ", o.beta2);
  RC_CHECK(std::isfinite(o.eps) && o.eps >= 0.0, "adam eps", "expected >= 0, got ", o.eps);
  RC_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0, "adam weight_decay", "expected >= 0, got ",
           o.weight_decay);
  if (o.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}
}  // namespace

AdamOptions adamw_defaults() {
  AdamOptions o;
  o.weight_decay = 1e-2;
  return o;
}

Adam::Adam(NamedParams params, const AdamOptions& o, bool decoupled)
    : Optimizer(std::move(params), o.lr, adam_buffers(o)), o_(o), decoupled_(decoupled) {}

void Adam::update(int64_t step, float* p, const float* g, float* const* buf, int64_t n) {
  // Per-step scalars in double (PyTorch computes them in Python floats), rounded to float where
  // they meet the float32 tensors.
  const double t = static_cast<double>(step);
  const double bias_correction1 = 1.0 - std::pow(o_.beta1, t);
  const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(o_.beta2, t));
  const float neg_step_size = static_cast<float>(-(lr() / bias_correction1));
  const float bc2_sqrt = static_cast<float>(bias_correction2_sqrt);
  const float b1 = static_cast<float>(o_.beta1), one_minus_b1 = static_cast<float>(1.0 - o_.beta1);
  const float b2 = static_cast<float>(o_.beta2), one_minus_b2 = static_cast<float>(1.0 - o_.beta2);
  const float eps = static_cast<float>(o_.eps);
  const bool l2 = !decoupled_ && o_.weight_decay != 0.0;
  const float wd = static_cast<float>(o_.weight_decay);
  const bool decay = decoupled_ && o_.weight_decay != 0.0;  // PyTorch multiplies even by 1.0; same result
  const float decay_factor = static_cast<float>(1.0 - lr() * o_.weight_decay);
  float* m = buf[0];
  float* v = buf[1];
  float* vmax = o_.amsgrad ? buf[2] : nullptr;
  for_each_chunk(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (decay) p[i] = p[i] * decay_factor;
      const float gi = l2 ? g[i] + wd * p[i] : g[i];
      m[i] = m[i] * b1 + one_minus_b1 * gi;
      v[i] = v[i] * b2 + one_minus_b2 * gi * gi;
      float second = v[i];
      if (vmax) second = vmax[i] = std::max(vmax[i], v[i]);
      const float denom = std::sqrt(second) / bc2_sqrt + eps;
      p[i] = p[i] + neg_step_size * m[i] / denom;
    }
  });
}

}  // namespace recurrent
