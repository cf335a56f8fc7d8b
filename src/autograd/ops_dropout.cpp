// Inverted dropout (Srivastava et al. 2014; "inverted": scaled at train time so eval is identity).
//   out = x ⊙ m,  m_i = [u_i ≥ p] / (1 − p),  u_i the i-th draw of rng (row-major element order).
// The mask is the only thing backward needs, so it is what the node keeps.
#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

// out = x ⊙ mask;   ∂x = g ⊙ mask
Var dropout_with_mask(const Var& x, const Tensor& mask) {
  RC_CHECK(mask.shape() == x.shape(), "dropout", "mask shape ", shape_str(mask.shape()), " differs from input ",
           shape_str(x.shape()));
  Tensor xv = prims::contig(x.value()), mv = prims::contig(mask);
  Tensor out(xv.shape());
  const float *xp = xv.data(), *m = mv.data();
  float* y = out.data();
  prims::map_n(out.numel(), [&](int64_t i) { y[i] = xp[i] * m[i]; });
  return make_op("dropout", out, {x}, [mv](Node& o) {
    Tensor gx(o.grad.shape());
    const float *g = o.grad.data(), *m = mv.data();
    float* q = gx.data();
    prims::map_n(gx.numel(), [&](int64_t i) { q[i] = g[i] * m[i]; });
    accumulate_grad(*o.inputs[0], gx);
  });
}

Var dropout(const Var& x, float p, bool training, Rng& rng) {
  RC_CHECK(p >= 0.0f && p <= 1.0f, "dropout", "probability must be in [0, 1], got ", p);
  if (!training || p == 0.0f) return x;
  Tensor mask(x.shape());
  if (p < 1.0f) {  // p == 1 keeps the all-zero mask (PyTorch returns zeros)
    const float keep = 1.0f / (1.0f - p);
    float* m = mask.data();
    // Serial: the draws must follow element order for reproducibility.
    for (int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = rng.uniform() >= p ? keep : 0.0f;
  }
  return dropout_with_mask(x, mask);
}

}  // namespace recurrent
