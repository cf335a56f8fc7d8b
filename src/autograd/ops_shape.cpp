// Shape ops: reshape, transpose, concat, slice. Values are materialised contiguous; backward
// routes gradient blocks back with strided copies (Tensor::copy_ / views), no arithmetic.
#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {
int64_t norm_dim(int64_t d, int64_t nd, const char* where) {
  const int64_t r = d < 0 ? d + nd : d;
  RC_CHECK(r >= 0 && r < nd, where, "dimension ", d, " out of range for a ", nd, "-D tensor");
  return r;
}
}  // namespace

// out = x viewed as `shape`;   ∂x = g viewed as x's shape
Var reshape(const Var& x, Shape shape) {
  int64_t known = 1, infer = 0;
  for (int64_t s : shape) {
    if (s == -1) ++infer;
    else known *= s;
  }
  const int64_t n = x.value().numel();
  RC_CHECK(infer <= 1 && (infer ? known > 0 && n % known == 0 : known == n), "reshape", "cannot view ",
           shape_str(x.shape()), " as ", shape_str(shape));
  Tensor out = prims::contig(x.value()).view(std::move(shape));
  return make_op("reshape", out, {x}, [](Node& o) {
    accumulate_grad(*o.inputs[0], o.grad.view(o.inputs[0]->value.shape()));
  });
}

// out = x with dims d0, d1 swapped;   ∂x = gᵀ (same swap)
Var transpose(const Var& x, int64_t d0, int64_t d1) {
  const int64_t a = norm_dim(d0, x.value().dim(), "transpose"), b = norm_dim(d1, x.value().dim(), "transpose");
  Tensor out = x.value().transpose(a, b).clone();
  return make_op("transpose", out, {x}, [a, b](Node& o) {
    accumulate_grad(*o.inputs[0], o.grad.transpose(a, b).contiguous());
  });
}

// out = [x_0 | x_1 | ...] along dim;   ∂x_i = the matching slice of g
Var concat(const std::vector<Var>& xs, int64_t dim) {
  RC_CHECK(!xs.empty(), "concat", "needs at least one tensor");
  const Shape& s0 = xs[0].shape();
  const int64_t d = norm_dim(dim, static_cast<int64_t>(s0.size()), "concat");
  Shape out_shape = s0;
  out_shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Shape& si = xs[i].shape();
    bool ok = si.size() == s0.size();
    for (size_t k = 0; ok && k < si.size(); ++k) ok = static_cast<int64_t>(k) == d || si[k] == s0[k];
    RC_CHECK(ok, "concat", "tensor ", i, " has shape ", shape_str(si), ", expected ", shape_str(s0),
             " except along dim ", d);
    out_shape[d] += si[d];
  }
  Tensor out(out_shape);
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Var& x : xs) {
    starts.push_back(at);
    out.slice(d, at, at + x.shape()[d]).copy_(x.value());
    at += x.shape()[d];
  }
  return make_op("concat", out, xs, [d, starts](Node& o) {
    for (size_t i = 0; i < o.inputs.size(); ++i) {
      if (!needs_grad(o, i)) continue;
      const int64_t len = o.inputs[i]->value.shape()[d];
      accumulate_grad(*o.inputs[i], o.grad.slice(d, starts[i], starts[i] + len).contiguous());
    }
  });
}

// out = x[..., start:end, ...] along dim;   ∂x = g placed in the slice, 0 elsewhere
Var slice(const Var& x, int64_t dim, int64_t start, int64_t end) {
  const int64_t d = norm_dim(dim, x.value().dim(), "slice");
  RC_CHECK(0 <= start && start <= end && end <= x.shape()[d], "slice", "range [", start, ", ", end,
           ") out of bounds for dim ", d, " of ", shape_str(x.shape()));
  Tensor out = x.value().slice(d, start, end).clone();
  return make_op("slice", out, {x}, [d, start, end](Node& o) {
    Tensor& gx = grad_buffer(*o.inputs[0]);
    Tensor region = gx.slice(d, start, end);
    Tensor sum = region.clone();
    const float* g = o.grad.data();
    float* s = sum.data();
    prims::map_n(sum.numel(), [&](int64_t k) { s[k] += g[k]; });
    region.copy_(sum);
  });
}

}  // namespace recurrent
