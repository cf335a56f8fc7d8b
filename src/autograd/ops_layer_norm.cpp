// Layer normalisation over the last dim (Ba et al. 2016), PyTorch semantics (biased variance).
//
//   x [R..., H] viewed as [R, H];  μ_r = mean_h x,  σ²_r = mean_h (x − μ)²,  rstd_r = 1/sqrt(σ²_r + eps)
//   x̂ = (x − μ)·rstd,  y = x̂ ⊙ w + b           (w, b [H]; undefined = no affine part)
// The node keeps x̂ [R, H] and rstd [R]: everything backward needs (not x itself).
#include <cmath>

#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

struct LnSaved {
  Tensor xhat, rstd, w;  // [R, H], [R], [H] or undefined
  int64_t R = 0, H = 0;
  bool has_w = false, has_b = false;
};

// ∂b += Σ_r g;   ∂w += Σ_r g ⊙ x̂     (serial over rows, double accumulation)
void ln_backward_params(Node& o, const LnSaved& s) {
  const float *g = o.grad.data(), *xh = s.xhat.data();
  std::vector<double> dw(s.H, 0.0), db(s.H, 0.0);
  for (int64_t r = 0; r < s.R; ++r)
    for (int64_t h = 0; h < s.H; ++h) {
      db[h] += g[r * s.H + h];
      dw[h] += static_cast<double>(g[r * s.H + h]) * xh[r * s.H + h];
    }
  size_t bi = s.has_w ? 2 : 1;
  if (s.has_w && needs_grad(o, 1)) {
    float* q = grad_buffer(*o.inputs[1]).data();
    for (int64_t h = 0; h < s.H; ++h) q[h] += static_cast<float>(dw[h]);
  }
  if (s.has_b && needs_grad(o, bi)) {
    float* q = grad_buffer(*o.inputs[bi]).data();
    for (int64_t h = 0; h < s.H; ++h) q[h] += static_cast<float>(db[h]);
  }
}

// d = g ⊙ w;   ∂x += rstd · (d − mean(d) − x̂ · mean(d ⊙ x̂))
void ln_backward_input(Node& o, const LnSaved& s) {
  const float *g = o.grad.data(), *xh = s.xhat.data(), *rs = s.rstd.data();
  const float* w = s.has_w ? s.w.data() : nullptr;
  float* dx = grad_buffer(*o.inputs[0]).data();
  const int64_t H = s.H;
  prims::for_rows(s.R, H, [&](int64_t r) {
    const float *gr = g + r * H, *xr = xh + r * H;
    double md = 0.0, mdx = 0.0;
    for (int64_t h = 0; h < H; ++h) {
      const double d = w ? static_cast<double>(gr[h]) * w[h] : gr[h];
      md += d;
      mdx += d * xr[h];
    }
    md /= static_cast<double>(H);
    mdx /= static_cast<double>(H);
    for (int64_t h = 0; h < H; ++h) {
      const double d = w ? static_cast<double>(gr[h]) * w[h] : gr[h];
      dx[r * H + h] += static_cast<float>(rs[r] * (d - md - xr[h] * mdx));
    }
  });
}

}  // namespace

Var layer_norm(const Var& x, const Var& weight, const Var& bias, float eps) {
  Tensor xv = prims::contig(x.value());
  RC_CHECK(xv.dim() >= 1 && xv.size(-1) > 0, "layer_norm", "input needs a non-empty last dim, got ", shape_str(xv.shape()));
  LnSaved s;
  s.H = xv.size(-1);
  s.R = xv.numel() / s.H;
  s.has_w = weight.defined();
  s.has_b = bias.defined();
  if (s.has_w) s.w = prims::contig(weight.value());
  Tensor bv = s.has_b ? prims::contig(bias.value()) : Tensor();
  for (const Tensor* t : {&s.w, &bv})
    RC_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == s.H), "layer_norm", "weight and bias must be [", s.H,
             "], got ", shape_str(t->shape()));
  s.xhat = Tensor(xv.shape());
  s.rstd = Tensor({s.R});
  Tensor out(xv.shape());
  const float *xp = xv.data(), *w = s.has_w ? s.w.data() : nullptr, *b = s.has_b ? bv.data() : nullptr;
  float *y = out.data(), *xh = s.xhat.data(), *rs = s.rstd.data();
  const int64_t H = s.H;
  prims::for_rows(s.R, H, [&](int64_t r) {
    const float* xr = xp + r * H;
    double mu = 0.0, var = 0.0;
    for (int64_t h = 0; h < H; ++h) mu += xr[h];
    mu /= static_cast<double>(H);
    for (int64_t h = 0; h < H; ++h) var += (xr[h] - mu) * (xr[h] - mu);
    var /= static_cast<double>(H);
    const double rstd = 1.0 / std::sqrt(var + eps);
    rs[r] = static_cast<float>(rstd);
    for (int64_t h = 0; h < H; ++h) {
      const float xn = static_cast<float>((xr[h] - mu) * rstd);
      xh[r * H + h] = xn;
      y[r * H + h] = xn * (w ? w[h] : 1.0f) + (b ? b[h] : 0.0f);
    }
  });
  std::vector<Var> inputs{x};
  if (s.has_w) inputs.push_back(weight);
  if (s.has_b) inputs.push_back(bias);
  return make_op("layer_norm", out, inputs, [s](Node& o) {
    if (needs_grad(o, 0)) ln_backward_input(o, s);
    ln_backward_params(o, s);
  });
}

}  // namespace recurrent
