// AVX-512 row max, exp-shift-sum and GELU: 16 lanes per step, masked tail. Same algorithms and
// constants as the portable forms (include/recurrent/kernels/softmax.h, gelu.h).
//   x, y, g, dx: [n]
#include <cmath>
#include <limits>

#include "kernels/avx512/activations512.h"
#include "kernels/avx512/dispatch_transformer.h"
#include "recurrent/kernels/gelu.h"

namespace recurrent::avx512 {

namespace {

// Φ(x) lane-wise (normal_cdf_scalar in gelu.h).
inline __m512 normal_cdf512(__m512 x) {
  using namespace gelu_detail;
  const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32(INT32_MIN));
  const __m512 z = _mm512_mul_ps(_mm512_andnot_ps(sign, x), _mm512_set1_ps(kInvSqrt2));
  const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(half, z, one));
  __m512 p = _mm512_set1_ps(kErfc[9]);
  for (int i = 8; i >= 0; --i) p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(kErfc[i]));
  const __m512 e = exp512(_mm512_fnmadd_ps(z, z, p));  // p − z²
  const __m512 half_erfc = _mm512_mul_ps(_mm512_mul_ps(half, t), e);
  const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_mask_mov_ps(_mm512_sub_ps(one, half_erfc), neg, half_erfc);
}

inline __m512 gelu512(__m512 x) { return _mm512_mul_ps(x, normal_cdf512(x)); }

inline __m512 gelu_grad512(__m512 x) {
  const __m512 phi = exp512(_mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(x, x)));
  return _mm512_fmadd_ps(_mm512_mul_ps(x, _mm512_set1_ps(gelu_detail::kInvSqrt2Pi)), phi, normal_cdf512(x));
}
}  // namespace

float max_array(const float* x, int64_t n) {
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 m = ninf;
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    m = _mm512_max_ps(m, _mm512_mask_loadu_ps(ninf, k, x + i));
  }
  // Lanes reduced through memory: GCC 12's _mm512_reduce_max_ps trips -Wuninitialized in its header.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, m);
  float r = lanes[0];
  for (int i = 1; i < 16; ++i) r = lanes[i] > r ? lanes[i] : r;
  return r;
}

double exp_shift_sum(float* x, int64_t n, float shift) {
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity()), s = _mm512_set1_ps(shift);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(k, x + i);
    const __mmask16 finite = _mm512_cmp_ps_mask(v, ninf, _CMP_NEQ_OQ) & k;  // −inf (masked key) → 0
    const __m512 e = _mm512_maskz_mov_ps(finite, exp512(_mm512_sub_ps(v, s)));
    _mm512_mask_storeu_ps(x + i, k, e);
    acc = _mm512_add_ps(acc, e);
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc);
  double sum = 0.0;
  for (float l : lanes) sum += l;
  return sum;
}

void gelu_array(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, k, gelu512(_mm512_maskz_loadu_ps(k, x + i)));
  }
}

void gelu_grad_add(const float* x, const float* g, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    const __m512 d = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, g + i), gelu_grad512(_mm512_maskz_loadu_ps(k, x + i)),
                                     _mm512_maskz_loadu_ps(k, dx + i));
    _mm512_mask_storeu_ps(dx + i, k, d);
  }
}

}  // namespace recurrent::avx512
