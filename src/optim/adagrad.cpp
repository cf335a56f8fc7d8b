// Adagrad: options check and the one per-element kernel. Equations in
// include/recurrent/optim/adagrad.h.
#include "recurrent/optim/adagrad.h"

#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
std::vector<std::string> adagrad_buffers(const AdagradOptions& o) {
  RC_CHECK(std::isfinite(o.lr_decay) && o.lr_decay >= 0.0, "adagrad lr_decay", "expected >= 0, got ", o.lr_decay);
  RC_CHECK(std::isfinite(o.initial_accumulator_value) && o.initial_accumulator_value >= 0.0,
           "adagrad initial_accumulator_value", "expected >= 0, got ", o.initial_accumulator_value);
  RC_CHECK(std::isfinite(o.eps) && o.eps >= 0.0, "adagrad eps", "expected >= 0, got ", o.eps);
  RC_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0, "adagrad weight_decay", "expected >= 0, got ",
           o.weight_decay);
  return {"sum"};
}
}  // namespace

Adagrad::Adagrad(NamedParams params, const AdagradOptions& o)
    : Optimizer(std::move(params), o.lr, adagrad_buffers(o)), o_(o) {}

void Adagrad::update(int64_t step, float* p, const float* g, float* const* buf, int64_t n) {
  const double clr = lr() / (1.0 + static_cast<double>(step - 1) * o_.lr_decay);
  const float neg_clr = static_cast<float>(-clr), eps = static_cast<float>(o_.eps);
  const float wd = static_cast<float>(o_.weight_decay);
  const bool use_wd = o_.weight_decay != 0.0;
  float* sum = buf[0];
  for_each_chunk(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = use_wd ? g[i] + wd * p[i] : g[i];
      sum[i] = sum[i] + gi * gi;
      const float std_i = std::sqrt(sum[i]) + eps;
      p[i] = p[i] + neg_clr * gi / std_i;
    }
  });
}

}  // namespace recurrent
