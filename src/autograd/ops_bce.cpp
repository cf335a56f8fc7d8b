// Fused sigmoid + binary cross-entropy over K labels per row (contract in recurrent/autograd/bce.h).
//
//   forward   ℓ_rk = max(x, 0) − x·y + log1p(e^{−|x|}),  per-row sums L_r = Σ_k ℓ_rk in double
//   backward  ∂x_rk = s_rk · (σ(x_rk) − y_rk),  s_rk = ∂out/∂ℓ_rk:
//               none  g_rk · w_r      sum  g · w_r      mean  g · w_r / (R·K)      mean_rows  g · w_r / Σw
// Forward keeps σ(x) [R, K] (the one thing backward needs besides y, and free: e^{−|x|} is computed
// for the loss anyway) and y (shared storage, no copy) — nothing when no tape is recorded.
#include <cmath>

#include "autograd/prims.h"
#include "recurrent/autograd/bce.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

// σ(x) from e = e^{−|x|} ∈ (0, 1]: 1/(1 + e) for x ≥ 0, e/(1 + e) for x < 0 (never overflows).
inline float safe_sigmoid(float x, float e) { return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e); }

// ∂out/∂ℓ_rk per row (and, for `none`, per element of the upstream gradient g).
struct BceScale {
  BceReduction red;
  double denom;  // R·K (mean), Σw (mean_rows), 1 otherwise
  float row(const Tensor& g, float w) const {
    if (red == BceReduction::none) return w;  // times g_rk, element by element
    if (denom <= 0.0) return 0.0f;
    return static_cast<float>(g.data()[0] * w / denom);
  }
};

void check_args(const Tensor& x, const Tensor& y, const SigmoidBceOptions& opt) {
  RC_CHECK(x.dim() >= 1 && x.size(-1) > 0, "sigmoid_bce", "logits need a label dim, got ", shape_str(x.shape()));
  RC_CHECK(x.shape() == y.shape(), "sigmoid_bce", "targets ", shape_str(y.shape()), " differ from logits ",
           shape_str(x.shape()));
  const int64_t R = x.numel() / x.size(-1);
  RC_CHECK(opt.row_weights.empty() || static_cast<int64_t>(opt.row_weights.size()) == R, "sigmoid_bce", "got ",
           opt.row_weights.size(), " row weights for ", R, " rows of ", x.size(-1), " labels");
  for (size_t r = 0; r < opt.row_weights.size(); ++r)
    RC_CHECK(std::isfinite(opt.row_weights[r]) && opt.row_weights[r] >= 0.0f, "sigmoid_bce", "row weight ",
             opt.row_weights[r], " at row ", r, " (expected finite and >= 0)");
}

}  // namespace

Var sigmoid_bce(const Var& logits, const Tensor& targets, const SigmoidBceOptions& opt) {
  const Tensor xv = prims::contig(logits.value()), yv = prims::contig(targets);
  check_args(xv, yv, opt);
  const int64_t K = xv.size(-1), R = xv.numel() / K;  // x, y: [R, K]
  const bool taped = grad_enabled() && logits.requires_grad();
  const bool none = opt.reduction == BceReduction::none;
  Tensor sig = taped ? Tensor::uninitialized(xv.shape()) : Tensor();  // σ(x) [R, K], for backward
  Tensor elems = none ? Tensor::uninitialized(xv.shape()) : Tensor();  // w_r ℓ_rk [R, K] (none)
  std::vector<double> rows(static_cast<size_t>(R));                    // w_r L_r
  const float *x = xv.data(), *y = yv.data();
  prims::for_rows(R, K, [&](int64_t r) {
    const float w = opt.row_weights.empty() ? 1.0f : opt.row_weights[r];
    double sum = 0.0;
    for (int64_t k = r * K; k < (r + 1) * K; ++k) {
      const float e = std::exp(-std::fabs(x[k]));
      const double l = std::max(x[k], 0.0f) - static_cast<double>(x[k]) * y[k] + std::log1p(static_cast<double>(e));
      sum += l;
      if (taped) sig.data()[k] = safe_sigmoid(x[k], e);
      if (none) elems.data()[k] = static_cast<float>(w * l);
    }
    rows[r] = w * sum;
  });
  double total = 0.0, wsum = 0.0;
  for (int64_t r = 0; r < R; ++r) {
    total += rows[r];
    wsum += opt.row_weights.empty() ? 1.0 : opt.row_weights[r];
  }
  double denom = 1.0;
  if (opt.reduction == BceReduction::mean) denom = static_cast<double>(R) * static_cast<double>(K);
  if (opt.reduction == BceReduction::mean_rows) denom = wsum;
  const Tensor out = none ? elems : Tensor::scalar(denom > 0.0 ? static_cast<float>(total / denom) : 0.0f);
  if (!taped) return Var(out);
  const BceScale scale{opt.reduction, denom};
  return make_op("sigmoid_bce", out, {logits}, [sig, yv, w = opt.row_weights, scale, none, K](Node& o) {
    float* gx = grad_buffer(*o.inputs[0]).data();
    const float *s = sig.data(), *y = yv.data(), *g = o.grad.data();
    const int64_t R = sig.numel() / K;
    prims::for_rows(R, K, [&](int64_t r) {
      const float sr = scale.row(o.grad, w.empty() ? 1.0f : w[r]);
      if (sr == 0.0f) return;
      for (int64_t k = r * K; k < (r + 1) * K; ++k) gx[k] += (none ? sr * g[k] : sr) * (s[k] - y[k]);
    });
  });
}

}  // namespace recurrent
