// Losses: cross-entropy from logits, mean squared error, binary cross-entropy with logits.
//
// Each computes per-element (per-row) losses ℓ_i with weights, then a reduction:
//   mean: Σ w_i ℓ_i / Σ w_i    sum: Σ w_i ℓ_i    none: w_i ℓ_i (shape of the rows / elements)
// Backward scales the local derivative by ∂out/∂ℓ_i = w_i·g / Σw (mean), w_i·g (sum), w_i·g_i (none).
#include <algorithm>
#include <cmath>

#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/kernels/softmax.h"

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
//
// Forward keeps e_rc = e^{x_rc − max_r} and inv_r = 1 / Σ_c e_rc (softmax = e·inv, normalised in the
// backward pass), with the vectorised exp of kernels/softmax.h (≤ 2 ulp). Σ is accumulated in float
// lanes combined in double (relative error ~√C·2⁻²⁴), the loss log Σ + max − x_t in double.
// Without a tape (evaluation) nothing is kept: each row's exps go to a per-thread scratch row.
// Backward: when the logits have no gradient yet (the usual case: a loss on a fresh linear output),
// the kept e tensor is turned into the gradient in place and handed over — no [R, C] buffer is
// zero-filled and added into; otherwise it adds as usual.
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
  const bool taped = grad_enabled() && logits.requires_grad();
  Tensor exps = taped ? Tensor::uninitialized(xv.shape()) : Tensor();  // e_rc (every one written below)
  std::vector<float> inv(R, 0.0f);
  std::vector<double> l(R, 0.0);
  const float* x = xv.data();
  prims::for_rows(R, C, [&](int64_t r) {
    const float* xr = x + r * C;
    thread_local std::vector<float> scratch;
    float* e = taped ? exps.data() + r * C : (scratch.resize(static_cast<size_t>(C)), scratch.data());
    std::copy_n(xr, C, e);
    const float mx = max_array(xr, C);
    const double s = exp_shift_sum(e, C, mx);
    inv[r] = static_cast<float>(1.0 / s);
    if (w[r] != 0.0f) l[r] = w[r] * (std::log(s) + mx - xr[targets[r]]);
  });
  Shape none_shape(xv.shape().begin(), xv.shape().end() - 1);
  Tensor out = reduce_losses(l, none_shape, opt.reduction, denom);
  LossScale scale{opt.reduction, denom};
  return make_op("cross_entropy", out, {logits}, [exps, inv, w, targets, scale, C](Node& o) {
    Node& in = *o.inputs[0];
    const bool fresh = !in.grad.defined();  // write the gradient into exps and hand it over
    float* gx = fresh ? const_cast<float*>(exps.data()) : in.grad.data();
    const float* e = exps.data();
    const int64_t R = static_cast<int64_t>(w.size());
    prims::for_rows(R, C, [&](int64_t r) {
      float* g = gx + r * C;
      const float* er = e + r * C;
      if (w[r] == 0.0f) {
        if (fresh) std::fill_n(g, C, 0.0f);
        return;
      }
      const float s = scale(o.grad, r) * w[r], k = s * inv[r];
      if (fresh)
        for (int64_t c = 0; c < C; ++c) g[c] = k * er[c];
      else
        for (int64_t c = 0; c < C; ++c) g[c] += k * er[c];
      g[targets[r]] -= s;
    });
    if (fresh) in.grad = exps;
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
