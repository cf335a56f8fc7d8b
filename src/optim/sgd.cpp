// SGD: options check and the one per-element kernel. Equations in include/recurrent/optim/sgd.h.
#include "recurrent/optim/sgd.h"

#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
std::vector<std::string> sgd_buffers(const SgdOptions& o) {
  RC_CHECK(std::isfinite(o.momentum) && o.momentum >= 0.0, "sgd momentum", "expected >= 0, got ", o.momentum);
  RC_CHECK(std::isfinite(o.dampening), "sgd dampening", "expected a finite value, got ", o.dampening);
  RC_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0, "sgd weight_decay", "expected >= 0, got ",
           o.weight_decay);
  RC_CHECK(!o.nesterov || (o.momentum > 0.0 && o.dampening == 0.0), "sgd nesterov",
           "Nesterov momentum requires momentum > 0 and dampening = 0");
  if (o.momentum != 0.0) return {"momentum_buffer"};
  return {};
}
}  // namespace

Sgd::Sgd(NamedParams params, const SgdOptions& o) : Optimizer(std::move(params), o.lr, sgd_buffers(o)), o_(o) {}

void Sgd::update(int64_t step, float* p, const float* g, float* const* buf, int64_t n) {
  // Scalars rounded to float once, as PyTorch does for float32 tensors; PyTorch computes
  // 1 - dampening in double before that rounding, so do we.
  const float wd = static_cast<float>(o_.weight_decay);
  const float mom = static_cast<float>(o_.momentum);
  const float one_minus_damp = static_cast<float>(1.0 - o_.dampening);
  const float neg_lr = static_cast<float>(-lr());
  const bool use_wd = o_.weight_decay != 0.0, use_mom = o_.momentum != 0.0, first = step == 1;
  const bool nesterov = o_.nesterov;
  float* mb = use_mom ? buf[0] : nullptr;
  for_each_chunk(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float d = use_wd ? g[i] + wd * p[i] : g[i];
      if (use_mom) {
        mb[i] = first ? d : mb[i] * mom + one_minus_damp * d;
        d = nesterov ? d + mom * mb[i] : mb[i];
      }
      p[i] = p[i] + neg_lr * d;
    }
  });
}

}  // namespace recurrent
