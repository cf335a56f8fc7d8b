// Elementwise binary ops with numpy broadcasting, and scalar ops.
//
// Forward: out = f(a, b) over the broadcast shape (prims::broadcast_map).
// Backward: the local gradient is formed over the broadcast shape, then summed back to each
// input's shape over its broadcast dims (prims::reduce_to). Shapes: a [...a], b [...b] -> out [...].
#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

// g·∂out/∂a (or ∂b) over the broadcast shape, reduced to the input shape and added to its gradient.
template <typename F>
void add_broadcast_grad(Node& out, size_t i, const prims::Broadcast& p, const Tensor& a, const Tensor& b, F&& local) {
  if (!needs_grad(out, i)) return;
  const float* g = out.grad.data();
  Tensor full(p.out);
  float* f = full.data();
  const float* ap = a.data();
  const float* bp = b.data();
  if (p.same)
    prims::map_n(full.numel(), [&](int64_t k) { f[k] = g[k] * local(ap[k], bp[k]); });
  else
    prims::broadcast_visit(p, [&](int64_t k, int64_t ia, int64_t ib) { f[k] = g[k] * local(ap[ia], bp[ib]); });
  accumulate_grad(*out.inputs[i], prims::reduce_to(full, out.inputs[i]->value.shape()));
}

}  // namespace

// out = a + b;   ∂a = g, ∂b = g (each summed over its broadcast dims)
Var add(const Var& a, const Var& b) {
  Tensor av = prims::contig(a.value()), bv = prims::contig(b.value());
  auto p = prims::broadcast_plan(av.shape(), bv.shape(), "add");
  Tensor out = prims::broadcast_map(p, av.data(), bv.data(), [](float x, float y) { return x + y; });
  return make_op("add", out, {a, b}, [](Node& o) {
    for (size_t i = 0; i < 2; ++i)
      if (needs_grad(o, i)) accumulate_grad(*o.inputs[i], prims::reduce_to(o.grad, o.inputs[i]->value.shape()));
  });
}

// out = a − b;   ∂a = g, ∂b = −g
Var sub(const Var& a, const Var& b) {
  Tensor av = prims::contig(a.value()), bv = prims::contig(b.value());
  auto p = prims::broadcast_plan(av.shape(), bv.shape(), "sub");
  Tensor out = prims::broadcast_map(p, av.data(), bv.data(), [](float x, float y) { return x - y; });
  return make_op("sub", out, {a, b}, [](Node& o) {
    if (needs_grad(o, 0)) accumulate_grad(*o.inputs[0], prims::reduce_to(o.grad, o.inputs[0]->value.shape()));
    if (needs_grad(o, 1)) {
      Tensor r = prims::reduce_to(o.grad, o.inputs[1]->value.shape()).clone();
      float* d = r.data();
      prims::map_n(r.numel(), [&](int64_t k) { d[k] = -d[k]; });
      accumulate_grad(*o.inputs[1], r);
    }
  });
}

// out = a ⊙ b;   ∂a = g ⊙ b, ∂b = g ⊙ a
Var mul(const Var& a, const Var& b) {
  Tensor av = prims::contig(a.value()), bv = prims::contig(b.value());
  auto p = prims::broadcast_plan(av.shape(), bv.shape(), "mul");
  Tensor out = prims::broadcast_map(p, av.data(), bv.data(), [](float x, float y) { return x * y; });
  return make_op("mul", out, {a, b}, [p, av, bv](Node& o) {
    add_broadcast_grad(o, 0, p, av, bv, [](float, float y) { return y; });
    add_broadcast_grad(o, 1, p, av, bv, [](float x, float) { return x; });
  });
}

// out = a / b;   ∂a = g / b, ∂b = −g · a / b²
Var div(const Var& a, const Var& b) {
  Tensor av = prims::contig(a.value()), bv = prims::contig(b.value());
  auto p = prims::broadcast_plan(av.shape(), bv.shape(), "div");
  Tensor out = prims::broadcast_map(p, av.data(), bv.data(), [](float x, float y) { return x / y; });
  return make_op("div", out, {a, b}, [p, av, bv](Node& o) {
    add_broadcast_grad(o, 0, p, av, bv, [](float, float y) { return 1.0f / y; });
    add_broadcast_grad(o, 1, p, av, bv, [](float x, float y) { return -x / (y * y); });
  });
}

namespace {
// out = c·x + d (affine map with constants);  ∂x = c · g
Var affine_const(const char* name, const Var& x, float c, float d) {
  Tensor xv = prims::contig(x.value());
  Tensor out(xv.shape());
  const float* xp = xv.data();
  float* op = out.data();
  prims::map_n(out.numel(), [&](int64_t i) { op[i] = c * xp[i] + d; });
  return make_op(name, out, {x}, [c](Node& o) {
    Tensor gx(o.grad.shape());
    const float* g = o.grad.data();
    float* q = gx.data();
    prims::map_n(gx.numel(), [&](int64_t i) { q[i] = c * g[i]; });
    accumulate_grad(*o.inputs[0], gx);
  });
}
}  // namespace

// out = c · x
Var scale(const Var& x, float c) { return affine_const("scale", x, c, 0.0f); }
// out = x + c
Var add_scalar(const Var& x, float c) { return affine_const("add_scalar", x, 1.0f, c); }
// out = −x
Var neg(const Var& x) { return affine_const("neg", x, -1.0f, 0.0f); }

}  // namespace recurrent
