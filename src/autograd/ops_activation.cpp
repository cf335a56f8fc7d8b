// Elementwise unary activations: out = f(x), ∂x = g ⊙ f'(x).
//
// Every op here is one call of unary_op(): a forward map and a backward map that reads the saved
// input x and/or the output y (the node's own value — no capture needed). Shapes: x [...] -> [...].
#include <cmath>

#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"

namespace recurrent {

namespace {

// fwd(x) -> y;  dfdx(x, y) -> f'(x). Saves x only when the derivative needs it (`keep_x`).
template <typename Fwd, typename Dfdx>
Var unary_op(const char* name, const Var& x, bool keep_x, Fwd fwd, Dfdx dfdx) {
  Tensor xv = prims::contig(x.value());
  Tensor out(xv.shape());
  const float* xp = xv.data();
  float* yp = out.data();
  prims::map_n(out.numel(), [&](int64_t i) { yp[i] = fwd(xp[i]); });
  Tensor saved = keep_x ? xv : Tensor();
  return make_op(name, out, {x}, [saved, dfdx](Node& o) {
    Tensor gx(o.grad.shape());
    const float* g = o.grad.data();
    const float* y = o.value.data();
    const float* xs = saved.defined() ? saved.data() : nullptr;
    float* q = gx.data();
    prims::map_n(gx.numel(), [&](int64_t i) { q[i] = g[i] * dfdx(xs ? xs[i] : 0.0f, y[i]); });
    accumulate_grad(*o.inputs[0], gx);
  });
}

}  // namespace

// y = tanh(x);   ∂x = g ⊙ (1 − y²)
Var tanh(const Var& x) {
  return unary_op("tanh", x, false, [](float v) { return std::tanh(v); },
                  [](float, float y) { return 1.0f - y * y; });
}

// y = σ(x) = 1/(1+e^{−x}) (x ≥ 0) or e^{x}/(1+e^{x}) (x < 0);   ∂x = g ⊙ y(1 − y)
Var sigmoid(const Var& x) {
  return unary_op("sigmoid", x, false,
                  [](float v) {
                    if (v >= 0.0f) return 1.0f / (1.0f + std::exp(-v));
                    float e = std::exp(v);
                    return e / (1.0f + e);
                  },
                  [](float, float y) { return y * (1.0f - y); });
}

// y = max(x, 0);   ∂x = g ⊙ [y > 0]
Var relu(const Var& x) {
  return unary_op("relu", x, false, [](float v) { return v > 0.0f ? v : 0.0f; },
                  [](float, float y) { return y > 0.0f ? 1.0f : 0.0f; });
}

// y = e^{x};   ∂x = g ⊙ y
Var exp(const Var& x) {
  return unary_op("exp", x, false, [](float v) { return std::exp(v); }, [](float, float y) { return y; });
}

// y = log x;   ∂x = g / x
Var log(const Var& x) {
  return unary_op("log", x, true, [](float v) { return std::log(v); }, [](float xv, float) { return 1.0f / xv; });
}

}  // namespace recurrent
