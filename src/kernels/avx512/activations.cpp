// AVX-512 array sigmoid / tanh: 16 lanes per step, masked tail. See activations512.h.
//   x, y: [n], y == x allowed.
#include "kernels/avx512/activations512.h"
#include "kernels/avx512/dispatch.h"

namespace recurrent::avx512 {

namespace {
template <typename F>
void apply(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {  // two independent vectors per step hide the division latency
    const __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
    _mm512_storeu_ps(y + i, f(a));
    _mm512_storeu_ps(y + i + 16, f(b));
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, f(_mm512_maskz_loadu_ps(m, x + i)));
  }
}
}  // namespace

void sigmoid_array(const float* x, float* y, int64_t n) { apply(x, y, n, sigmoid512); }
void tanh_array(const float* x, float* y, int64_t n) { apply(x, y, n, tanh512); }

}  // namespace recurrent::avx512
