// GELU, exact erf form (Hendrycks & Gimpel 2016; PyTorch's nn.GELU() default, approximate='none').
//   y = x·Φ(x),  Φ(x) = ½ erfc(−x/√2);   ∂x = g·(Φ(x) + x·φ(x)),  φ(x) = e^{−x²/2}/√(2π)
// The vectorised kernels and their error against double precision: include/recurrent/kernels/gelu.h.
// The node keeps x (the derivative needs it; y alone does not determine x).
#include <algorithm>

#include "autograd/prims.h"
#include "recurrent/autograd/attention.h"
#include "recurrent/kernels/gelu.h"

namespace recurrent {

namespace {
constexpr int64_t kChunk = 4096;  // elements per parallel work item
}

Var gelu(const Var& x) {
  Tensor xv = prims::contig(x.value());
  Tensor out(xv.shape());
  const float* xp = xv.data();
  float* y = out.data();
  const int64_t n = out.numel(), chunks = (n + kChunk - 1) / kChunk;
  prims::for_rows(chunks, kChunk, [&](int64_t c) {
    const int64_t a = c * kChunk;
    gelu_vec(xp + a, y + a, std::min(kChunk, n - a));
  });
  return make_op("gelu", out, {x}, [xv](Node& o) {
    const float *xs = xv.data(), *g = o.grad.data();
    float* dx = grad_buffer(*o.inputs[0]).data();
    const int64_t m = xv.numel(), nc = (m + kChunk - 1) / kChunk;
    prims::for_rows(nc, kChunk, [&](int64_t c) {
      const int64_t a = c * kChunk;
      gelu_grad_add(xs + a, g + a, dx + a, std::min(kChunk, m - a));
    });
  });
}

}  // namespace recurrent
