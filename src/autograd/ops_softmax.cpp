// Softmax and log-softmax over the last dim, row by row (prims::for_rows).
//
// x [R..., C] viewed as [R, C]. Both subtract the row max first so e^{·} ≤ 1 never overflows;
// the row sum is accumulated in double. Backward reads only the output y (the node value).
#include <cmath>

#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

// Shared forward: y_r = x_r − max_r − log Σ e^{x_r − max_r} (log = true) or the normalised exp.
Tensor softmax_rows(const Tensor& xin, bool log_out, const char* where) {
  RC_CHECK(xin.dim() >= 1 && xin.size(-1) > 0, where, "needs at least one dim with C > 0, got ", shape_str(xin.shape()));
  Tensor xv = prims::contig(xin);
  Tensor out(xv.shape());
  const int64_t C = xv.size(-1), R = xv.numel() / C;
  const float* x = xv.data();
  float* y = out.data();
  prims::for_rows(R, C, [&](int64_t r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    float mx = xr[0];
    for (int64_t c = 1; c < C; ++c) mx = xr[c] > mx ? xr[c] : mx;
    double s = 0.0;
    for (int64_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(xr[c] - mx));
    if (log_out) {
      const float lse = static_cast<float>(std::log(s));
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] - mx - lse;
    } else {
      const double inv = 1.0 / s;
      for (int64_t c = 0; c < C; ++c) yr[c] = static_cast<float>(std::exp(static_cast<double>(xr[c] - mx)) * inv);
    }
  });
  return out;
}

}  // namespace

// y = e^{x − max} / Σ e^{x − max};   ∂x = y ⊙ (g − Σ_c g_c y_c)
Var softmax(const Var& x) {
  return make_op("softmax", softmax_rows(x.value(), false, "softmax"), {x}, [](Node& o) {
    const int64_t C = o.value.size(-1), R = o.value.numel() / C;
    Tensor gx(o.value.shape());
    const float *y = o.value.data(), *g = o.grad.data();
    float* q = gx.data();
    prims::for_rows(R, C, [&](int64_t r) {
      const int64_t b = r * C;
      double dot = 0.0;
      for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(g[b + c]) * y[b + c];
      for (int64_t c = 0; c < C; ++c) q[b + c] = y[b + c] * (g[b + c] - static_cast<float>(dot));
    });
    accumulate_grad(*o.inputs[0], gx);
  });
}

// y = x − max − log Σ e^{x − max};   ∂x = g − e^{y} Σ_c g_c
Var log_softmax(const Var& x) {
  return make_op("log_softmax", softmax_rows(x.value(), true, "log_softmax"), {x}, [](Node& o) {
    const int64_t C = o.value.size(-1), R = o.value.numel() / C;
    Tensor gx(o.value.shape());
    const float *y = o.value.data(), *g = o.grad.data();
    float* q = gx.data();
    prims::for_rows(R, C, [&](int64_t r) {
      const int64_t b = r * C;
      double gs = 0.0;
      for (int64_t c = 0; c < C; ++c) gs += g[b + c];
      for (int64_t c = 0; c < C; ++c) q[b + c] = g[b + c] - std::exp(y[b + c]) * static_cast<float>(gs);
    });
    accumulate_grad(*o.inputs[0], gx);
  });
}

}  // namespace recurrent
