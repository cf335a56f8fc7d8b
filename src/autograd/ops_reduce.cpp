// Reductions: sum / mean over everything or over one dim, accumulated in double.
//
// Over a dim, x is viewed as [P, n, Q] (P = product of the dims before, n = the reduced dim,
// Q = product after); out is [P, Q] (keepdim puts back a 1). Backward broadcasts g back over n.
#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

// out = c · Σ_all x;   ∂x_i = c · g
Var reduce_all(const char* name, const Var& x, bool average) {
  Tensor xv = prims::contig(x.value());
  const int64_t n = xv.numel();
  const float* p = xv.data();
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += p[i];
  const float c = average ? 1.0f / static_cast<float>(n) : 1.0f;  // mean of nothing is NaN, as in PyTorch
  Tensor out = Tensor::scalar(static_cast<float>(average ? s / static_cast<double>(n) : s));
  return make_op(name, out, {x}, [c](Node& o) {
    accumulate_grad(*o.inputs[0], Tensor::full(o.inputs[0]->value.shape(), c * o.grad.item()));
  });
}

// out[p, q] = c · Σ_j x[p, j, q];   ∂x[p, j, q] = c · g[p, q]
Var reduce_dim(const char* name, const Var& x, int64_t dim, bool keepdim, bool average) {
  Tensor xv = prims::contig(x.value());
  const int64_t nd = xv.dim();
  const int64_t d = dim < 0 ? dim + nd : dim;
  RC_CHECK(d >= 0 && d < nd, name, "dimension ", dim, " out of range for shape ", shape_str(xv.shape()));
  const Shape& s = xv.shape();
  int64_t P = 1, Q = 1;
  const int64_t n = s[d];
  for (int64_t i = 0; i < d; ++i) P *= s[i];
  for (int64_t i = d + 1; i < nd; ++i) Q *= s[i];
  Shape out_shape = s;
  if (keepdim) out_shape[d] = 1;
  else out_shape.erase(out_shape.begin() + d);
  const double c = average ? 1.0 / static_cast<double>(n) : 1.0;
  Tensor out(out_shape);
  const float* xp = xv.data();
  float* op = out.data();
  prims::for_rows(P, n * Q, [&](int64_t p) {
    for (int64_t q = 0; q < Q; ++q) {
      double acc = 0.0;
      for (int64_t j = 0; j < n; ++j) acc += xp[(p * n + j) * Q + q];
      op[p * Q + q] = static_cast<float>(acc * c);
    }
  });
  return make_op(name, out, {x}, [P, n, Q, c](Node& o) {
    Tensor gx(o.inputs[0]->value.shape());
    const float* g = o.grad.data();
    float* q = gx.data();
    const float cf = static_cast<float>(c);
    prims::for_rows(P, n * Q, [&](int64_t p) {
      for (int64_t j = 0; j < n; ++j)
        for (int64_t k = 0; k < Q; ++k) q[(p * n + j) * Q + k] = cf * g[p * Q + k];
    });
    accumulate_grad(*o.inputs[0], gx);
  });
}

}  // namespace

Var sum(const Var& x) { return reduce_all("sum", x, false); }
Var mean(const Var& x) { return reduce_all("mean", x, true); }
Var sum(const Var& x, int64_t dim, bool keepdim) { return reduce_dim("sum", x, dim, keepdim, false); }
Var mean(const Var& x, int64_t dim, bool keepdim) { return reduce_dim("mean", x, dim, keepdim, true); }

}  // namespace recurrent
