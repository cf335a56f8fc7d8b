// AVX512_BF16 panel GEMM for the fused RNN loops in bf16 precision: C (+)= A · P with bf16 A and P,
// fp32 C. Contract and layouts: panel_bf16.h. The fp32 kernel it mirrors: panel_gemm512.cpp.
// Accumulation order per element: k pairs ascending (within each of the 4 partial sums for M = 1),
// each pair added by one vdpbf16ps; then C added last when accumulating.
#include <immintrin.h>

#include "kernels/avx512/panel_bf16.h"
#include "kernels/avx512/panel_rows.h"

namespace recurrent::avx512 {

namespace {
// Two bf16 of A (elements 2kk, 2kk+1 of a row) broadcast to every 32-bit lane.
inline __m512bh pair(const uint16_t* a) {
  int32_t v;
  std::memcpy(&v, a, sizeof v);
  return (__m512bh)_mm512_set1_epi32(v);
}
inline __m512bh load_bh(const uint16_t* p) { return (__m512bh)_mm512_load_si512(p); }

template <int MR>
void block(int64_t KP2, const uint16_t* A, int64_t lda, const uint16_t* P, int64_t ncols, float* C, int64_t ldc,
           bool accumulate) {
  __m512 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int64_t kk = 0; kk < KP2; ++kk) {
    const __m512bh b0 = load_bh(P + kk * 64), b1 = load_bh(P + kk * 64 + 32);
    for (int r = 0; r < MR; ++r) {
      const __m512bh a = pair(A + r * lda + 2 * kk);
      c0[r] = _mm512_dpbf16_ps(c0[r], a, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], a, b1);
    }
  }
  for (int r = 0; r < MR; ++r) store_panel_row(C + r * ldc, c0[r], c1[r], ncols, accumulate);
}

// M = 1: four partial sums over k pairs (kk mod 4) keep 8 dot-product chains in flight.
void row1(int64_t KP2, const uint16_t* A, const uint16_t* P, int64_t ncols, float* C, bool accumulate) {
  __m512 s[8];
  for (auto& v : s) v = _mm512_setzero_ps();
  int64_t kk = 0;
  for (; kk + 4 <= KP2; kk += 4)
    for (int u = 0; u < 4; ++u) {
      const __m512bh a = pair(A + 2 * (kk + u));
      s[2 * u] = _mm512_dpbf16_ps(s[2 * u], a, load_bh(P + (kk + u) * 64));
      s[2 * u + 1] = _mm512_dpbf16_ps(s[2 * u + 1], a, load_bh(P + (kk + u) * 64 + 32));
    }
  for (; kk < KP2; ++kk) {
    const __m512bh a = pair(A + 2 * kk);
    s[0] = _mm512_dpbf16_ps(s[0], a, load_bh(P + kk * 64));
    s[1] = _mm512_dpbf16_ps(s[1], a, load_bh(P + kk * 64 + 32));
  }
  const __m512 c0 = _mm512_add_ps(_mm512_add_ps(s[0], s[2]), _mm512_add_ps(s[4], s[6]));
  const __m512 c1 = _mm512_add_ps(_mm512_add_ps(s[1], s[3]), _mm512_add_ps(s[5], s[7]));
  store_panel_row(C, c0, c1, ncols, accumulate);
}
}  // namespace

void panel_gemm_bf16(int64_t M, int64_t Kp, const uint16_t* A, int64_t lda, const uint16_t* P, int64_t ncols,
                     float* C, int64_t ldc, bool accumulate) {
  const int64_t KP2 = Kp / 2;
  for_row_blocks(
      M, [&](auto mr, int64_t m) { block<decltype(mr)::value>(KP2, A + m * lda, lda, P, ncols, C + m * ldc, ldc, accumulate); },
      [&](int64_t m) { row1(KP2, A + m * lda, P, ncols, C + m * ldc, accumulate); });
}

void pack_panel_bf16(int64_t K, int64_t ncols, const float* src, int64_t sk, int64_t sc, uint16_t* out) {
  const int64_t Kp = bf16_pad(K);
  std::memset(out, 0, static_cast<size_t>(Kp * 32) * sizeof(uint16_t));
  for (int64_t c = 0; c < ncols; ++c)
    for (int64_t k = 0; k < K; ++k) out[(k / 2) * 64 + c * 2 + (k & 1)] = to_bf16(src[k * sk + c * sc]);
}

void pack_pairs_bf16(int64_t K, int64_t ncols, const float* src, int64_t ld, uint16_t* out) {
  // vpermw index on [row k's 16 columns | row k + 1's 16 columns] (vcvtne2ps2bf16 of the two rows):
  // output element 2c ← row k's column c, 2c + 1 ← row k + 1's column c.
  alignas(64) static constexpr uint16_t kIdx[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                    8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i idx = _mm512_load_si512(kIdx);
  for (int64_t kk = 0; kk < bf16_pad(K) / 2; ++kk) {
    const float* r0 = src + 2 * kk * ld;
    const float* r1 = r0 + ld;
    const bool has1 = 2 * kk + 1 < K;
    for (int h = 0; h < 2; ++h) {
      const __mmask16 m = tail_mask(ncols - 16 * h);
      const __m512 a = _mm512_maskz_loadu_ps(m, r0 + 16 * h);
      const __m512 b = _mm512_maskz_loadu_ps(has1 ? m : __mmask16(0), r1 + 16 * h);
      const __m512i ab = (__m512i)_mm512_cvtne2ps_pbh(b, a);  // low 16: a, high 16: b
      _mm512_store_si512(out + kk * 64 + 32 * h, _mm512_permutexvar_epi16(idx, ab));
    }
  }
}

void convert_rows_bf16(int64_t M, int64_t K, const float* src, int64_t lds, uint16_t* dst, int64_t ldd) {
  for (int64_t m = 0; m < M; ++m) {
    const float* s = src + m * lds;
    uint16_t* d = dst + m * ldd;
    for (int64_t j = 0; j < ldd; j += 16) {
      const __m512 v = _mm512_maskz_loadu_ps(tail_mask(K - j), s + j);  // zeros past K
      _mm256_mask_storeu_epi16(d + j, tail_mask(ldd - j), (__m256i)_mm512_cvtneps_pbh(v));
    }
  }
}

}  // namespace recurrent::avx512
