// Losses: cross-entropy from logits, mean squared error, binary cross-entropy with logits.
//
// Each computes per-element (per-row) losses ℓ_i with weights, then a reduction:
//   mean: Σ w_i ℓ_i / Σ w_i    sum: Σ w_i ℓ_i    none: w_i ℓ_i (shape of the rows / elements)
// Backward scales the local derivative by ∂out/∂ℓ_i = w_i·g / Σw (mean), w_i·g (sum), w_i·g_i (none).
#include <cmath>

#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

// Reduce per-item losses (already weighted) into the op's output. denom = Σ w_i for mean.
Tensor reduce_losses(const std::vector<double>& l, const Shape& none_shape, Reduction red, double denom) {
  if (red == Reduction::none) {
    Tensor out(none_shape);
    for (size_t i = 0; i < l.size(); ++i) out.data()[i] = static_cast<float>(l[i]);
    return out;
  }
  double s = 0.0;
  for (double v : l) s += v;
  if (red == Reduction::mean) s = denom > 0.0 ? s / denom : 0.0;
  return Tensor::scalar(static_cast<float>(s));
}

// ∂out/∂ℓ_i for item i, given the upstream gradient g of the output.
struct LossScale {
  Reduction red;
  double denom;
  float operator()(const Tensor& g, int64_t i) const {
    if (red == Reduction::none) return g.data()[i];
    if (red == Reduction::sum) return g.data()[0];
    return denom > 0.0 ? static_cast<float>(g.data()[0] / denom) : 0.0f;
  }
};

}  // namespace

// ℓ_r = w_r · (log Σ_c e^{x_rc} − x_{r,t_r});   ∂x_rc = s_r · w_r · (softmax(x_r)_c − [c == t_r])
Var cross_entropy(const Var& logits, const std::vector<int64_t>& targets, const CrossEntropyOptions& opt) {
  Tensor xv = prims::contig(logits.value());
  RC_CHECK(xv.dim() >= 1 && xv.size(-1) > 0, "cross_entropy", "logits need a class dim, got ", shape_str(xv.shape()));
  const int64_t C = xv.size(-1), R = xv.numel() / C;
  RC_CHECK(static_cast<int64_t>(targets.size()) == R, "cross_entropy", "got ", targets.size(), " targets for logits ",
           shape_str(xv.shape()), " (", R, " rows of ", C, " classes)");
  RC_CHECK(opt.weights.empty() || static_cast<int64_t>(opt.weights.size()) == R, "cross_entropy", "got ",
           opt.weights.size(), " token weights for ", R, " rows");
  std::vector<float> w(R);
  double denom = 0.0;
  for (int64_t r = 0; r < R; ++r) {
    const int64_t t = targets[r];
    const bool ignored = t == opt.ignore_index;
    RC_CHECK(ignored || (t >= 0 && t < C), "cross_entropy", "target ", t, " at row ", r, " is out of range for ", C,
             " classes (ignore_index is ", opt.ignore_index, ")");
    w[r] = ignored ? 0.0f : (opt.weights.empty() ? 1.0f : opt.weights[r]);
    denom += w[r];
  }
  Tensor probs(xv.shape());  // softmax rows: what backward needs
  std::vector<double> l(R, 0.0);
  const float* x = xv.data();
  float* p = probs.data();
  prims::for_rows(R, C, [&](int64_t r) {
    const float* xr = x + r * C;
    float mx = xr[0];
    for (int64_t c = 1; c < C; ++c) mx = xr[c] > mx ? xr[c] : mx;
    double s = 0.0;
    for (int64_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(xr[c] - mx));
    for (int64_t c = 0; c < C; ++c) p[r * C + c] = static_cast<float>(std::exp(static_cast<double>(xr[c] - mx)) / s);
    if (w[r] != 0.0f) l[r] = w[r] * (std::log(s) + mx - xr[targets[r]]);
  });
  Shape none_shape(xv.shape().begin(), xv.shape().end() - 1);
  Tensor out = reduce_losses(l, none_shape, opt.reduction, denom);
  LossScale scale{opt.reduction, denom};
  return make_op("cross_entropy", out, {logits}, [probs, w, targets, scale, C](Node& o) {
    float* gx = grad_buffer(*o.inputs[0]).data();
    const float* pr = probs.data();
    const int64_t R = static_cast<int64_t>(w.size());
    prims::for_rows(R, C, [&](int64_t r) {
      if (w[r] == 0.0f) return;
      const float s = scale(o.grad, r) * w[r];
      for (int64_t c = 0; c < C; ++c) gx[r * C + c] += s * (pr[r * C + c] - (c == targets[r] ? 1.0f : 0.0f));
    });
  });
}

// ℓ_i = (p_i − y_i)²;   ∂p_i = s_i · 2(p_i − y_i)
Var mse_loss(const Var& pred, const Tensor& target, Reduction reduction) {
  RC_CHECK(pred.shape() == target.shape(), "mse_loss", "target shape ", shape_str(target.shape()),
           " differs from prediction ", shape_str(pred.shape()));
  Tensor pv = prims::contig(pred.value()), tv = prims::contig(target);
  const int64_t n = pv.numel();
  std::vector<double> l(n);
  const float *pp = pv.data(), *tp = tv.data();
  for (int64_t i = 0; i < n; ++i) l[i] = static_cast<double>(pp[i] - tp[i]) * (pp[i] - tp[i]);
  Tensor out = reduce_losses(l, pv.shape(), reduction, static_cast<double>(n));
  LossScale scale{reduction, static_cast<double>(n)};
  return make_op("mse_loss", out, {pred}, [pv, tv, scale](Node& o) {
    float* gp = grad_buffer(*o.inputs[0]).data();
    const float *p = pv.data(), *t = tv.data();
    for (int64_t i = 0, n = pv.numel(); i < n; ++i) gp[i] += scale(o.grad, i) * 2.0f * (p[i] - t[i]);
  });
}

// ℓ_i = max(x_i, 0) − x_i·y_i + log(1 + e^{−|x_i|});   ∂x_i = s_i · (σ(x_i) − y_i)
Var bce_with_logits(const Var& logits, const Tensor& target, Reduction reduction) {
  RC_CHECK(logits.shape() == target.shape(), "bce_with_logits", "target shape ", shape_str(target.shape()),
           " differs from logits ", shape_str(logits.shape()));
  Tensor xv = prims::contig(logits.value()), tv = prims::contig(target);
  const int64_t n = xv.numel();
  std::vector<double> l(n);
  const float *xp = xv.data(), *tp = tv.data();
  for (int64_t i = 0; i < n; ++i) {
    const double x = xp[i];
    l[i] = std::max(x, 0.0) - x * tp[i] + std::log1p(std::exp(-std::fabs(x)));
  }
  Tensor out = reduce_losses(l, xv.shape(), reduction, static_cast<double>(n));
  LossScale scale{reduction, static_cast<double>(n)};
  return make_op("bce_with_logits", out, {logits}, [xv, tv, scale](Node& o) {
    float* gx = grad_buffer(*o.inputs[0]).data();
    const float *x = xv.data(), *t = tv.data();
    for (int64_t i = 0, n = xv.numel(); i < n; ++i) {
      const float e = std::exp(-std::fabs(x[i]));  // σ(x) in the safe form, as in sigmoid()
      const float sig = x[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
      gx[i] += scale(o.grad, i) * (sig - t[i]);
    }
  });
}

}  // namespace recurrent
