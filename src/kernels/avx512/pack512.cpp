// Packing the recurrent weights into the panel GEMM's layout (src/kernels/avx512/panel_gemm512.cpp):
// 16 rows of W at a time are read along k and written transposed, as 16 × 16 register tiles.
// The scalar loop it replaces wrote each float to a different cache line (stride 32 floats) and
// cost ~8% of a batch-1 LSTM inference call (the panels are packed once per call).
#include "kernels/avx512/pack512.h"

#include <algorithm>

#include "kernels/avx512/activations512.h"  // tail_mask (and GCC 12's false -Wmaybe-uninitialized silenced)

namespace recurrent::avx512 {

namespace {
// r[i] = row i (16 floats, columns k..k+15) → r[j] = column j (rows 0..15).
inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);      // per lane: r_i[0] r_{i+1}[0] r_i[1] r_{i+1}[1]
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);  //           r_i[2] r_{i+1}[2] r_i[3] r_{i+1}[3]
  }
  for (int q = 0; q < 16; q += 4) {  // rows q..q+3; u[q + e] lane L = those rows at column 4L + e
    u[q + 0] = _mm512_shuffle_ps(t[q], t[q + 2], 0x44);
    u[q + 1] = _mm512_shuffle_ps(t[q], t[q + 2], 0xEE);
    u[q + 2] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0x44);
    u[q + 3] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
  }
  for (int e = 0; e < 4; ++e) {  // columns e, e + 4, e + 8, e + 12
    const __m512 v0 = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x88);       // lanes 0, 2 of rows 0-3, 4-7
    const __m512 v1 = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x88);  // lanes 0, 2 of rows 8-11, 12-15
    const __m512 w0 = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xDD);       // lanes 1, 3
    const __m512 w1 = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xDD);
    r[e] = _mm512_shuffle_f32x4(v0, v1, 0x88);
    r[e + 8] = _mm512_shuffle_f32x4(v0, v1, 0xDD);
    r[e + 4] = _mm512_shuffle_f32x4(w0, w1, 0x88);
    r[e + 12] = _mm512_shuffle_f32x4(w0, w1, 0xDD);
  }
}
}  // namespace

void pack_rows_transposed(const float* src, int64_t ld, int64_t nrows, int64_t K, float* dst) {
  for (int64_t half = 0; half < 2; ++half) {
    const int64_t n = std::clamp<int64_t>(nrows - 16 * half, 0, 16);
    const float* s = n > 0 ? src + 16 * half * ld : src;  // (never past the array: nothing is read when n = 0)
    float* d = dst + 16 * half;
    for (int64_t k0 = 0; k0 < K; k0 += 16) {
      const int64_t kk = std::min<int64_t>(16, K - k0);
      const __mmask16 m = tail_mask(kk);
      __m512 r[16];
      for (int64_t i = 0; i < 16; ++i) r[i] = i < n ? _mm512_maskz_loadu_ps(m, s + i * ld + k0) : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t j = 0; j < kk; ++j) _mm512_store_ps(d + (k0 + j) * 32, r[j]);
    }
  }
}

}  // namespace recurrent::avx512
