// RMSprop: options check and the one per-element kernel. Equations in
// include/recurrent/optim/rmsprop.h.
#include "recurrent/optim/rmsprop.h"

#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
std::vector<std::string> rmsprop_buffers(const RmspropOptions& o) {
  RC_CHECK(std::isfinite(o.alpha) && o.alpha >= 0.0, "rmsprop alpha", "expected >= 0, got ", o.alpha);
  RC_CHECK(std::isfinite(o.eps) && o.eps >= 0.0, "rmsprop eps", "expected >= 0, got ", o.eps);
  RC_CHECK(std::isfinite(o.momentum) && o.momentum >= 0.0, "rmsprop momentum", "expected >= 0, got ", o.momentum);
  RC_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0, "rmsprop weight_decay", "expected >= 0, got ",
           o.weight_decay);
  std::vector<std::string> names{"square_avg"};
  if (o.momentum > 0.0) names.push_back("momentum_buffer");
  if (o.centered) names.push_back("grad_avg");
  return names;
}
}  // namespace

Rmsprop::Rmsprop(NamedParams params, const RmspropOptions& o)
    : Optimizer(std::move(params), o.lr, rmsprop_buffers(o)), o_(o) {}

void Rmsprop::update(int64_t /*step*/, float* p, const float* g, float* const* buf, int64_t n) {
  const float a = static_cast<float>(o_.alpha), one_minus_a = static_cast<float>(1.0 - o_.alpha);
  const float eps = static_cast<float>(o_.eps), mom = static_cast<float>(o_.momentum);
  const float wd = static_cast<float>(o_.weight_decay), neg_lr = static_cast<float>(-lr());
  const bool use_wd = o_.weight_decay != 0.0;
  float* sq = buf[0];
  float* mb = o_.momentum > 0.0 ? buf[1] : nullptr;
  float* ga = o_.centered ? buf[mb ? 2 : 1] : nullptr;
  for_each_chunk(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = use_wd ? g[i] + wd * p[i] : g[i];
      sq[i] = sq[i] * a + one_minus_a * gi * gi;
      float avg;
      if (ga) {
        ga[i] = ga[i] * a + one_minus_a * gi;
        avg = std::sqrt(sq[i] + -1.0f * ga[i] * ga[i]);
      } else {
        avg = std::sqrt(sq[i]);
      }
      avg = avg + eps;
      if (mb) {
        mb[i] = mb[i] * mom + gi / avg;
        p[i] = p[i] + neg_lr * mb[i];
      } else {
        p[i] = p[i] + neg_lr * gi / avg;
      }
    }
  });
}

}  // namespace recurrent
