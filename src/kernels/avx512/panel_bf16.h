// bf16 panel GEMM of the fused RNN loops in bf16 precision (src/kernels/avx512/panel_gemm_bf16.cpp):
// the same 32-column panels as panel_gemm (cells.h), with bf16 operands and fp32 accumulation through
// AVX512_BF16's vdpbf16ps (`_mm512_dpbf16_ps`: per 32-bit lane, acc += a[2i]·b[2i] + a[2i+1]·b[2i+1],
// products exact in fp32, each addition rounded to nearest even; denormal inputs and outputs are
// flushed to zero). Callers check cpu_has_avx512_bf16() first.
//
// Layouts (bf16 values are stored as uint16_t bit patterns):
//   A      [M, Kp] row-major, lda even ≥ Kp; Kp = K rounded up to even, A[m, K] = 0 when K is odd
//   panel  [Kp/2][32][2]: pair kk, column c holds (P[2kk][c], P[2kk+1][c]); zero past ncols and past K;
//          64-byte aligned (panel_bf16_elems(K) elements, a multiple of 64)
// Rounding: to_bf16 below is round-to-nearest-even with denormals flushed to ±0 and NaN kept quiet,
// bit-for-bit what vcvtneps2bf16 (`_mm512_cvtneps_pbh`) produces (tests/kernels/test_panel_gemm_bf16.cpp).
#pragma once

#include <cstdint>
#include <cstring>

namespace recurrent::avx512 {

inline int64_t bf16_pad(int64_t K) { return (K + 1) & ~int64_t{1}; }     // Kp
inline int64_t panel_bf16_elems(int64_t K) { return bf16_pad(K) * 32; }  // one panel, in uint16_t

inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7F800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);  // ±0, denormal → ±0
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // NaN, quiet
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float from_bf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline float round_bf16(float f) { return from_bf16(to_bf16(f)); }

// C[M, 0:ncols] = (accumulate ? C : 0) + A[M, Kp] · P[Kp, 32]; columns past ncols (≤ 32) untouched.
// 8 rows × 32 columns in 16 zmm accumulators, per k pair one 32-bit broadcast of A per row and two
// loads of the panel; M = 1 keeps four partial sums over k pairs (8 chains).
void panel_gemm_bf16(int64_t M, int64_t Kp, const uint16_t* A, int64_t lda, const uint16_t* P, int64_t ncols,
                     float* C, int64_t ldc, bool accumulate);

// One panel from fp32: element (k, c) = src[k·sk + c·sc] for k < K, c < ncols (≤ 32), rounded to
// bf16; zero elsewhere. Row-of-W panels (W[c, k], forward): sk = 1, sc = ld; column panels (W[k, c]):
// sk = ld, sc = 1.
void pack_panel_bf16(int64_t K, int64_t ncols, const float* src, int64_t sk, int64_t sc, uint16_t* out);

// The same panel from a row-major source, vectorised: element (k, c) = src[k·ld + c] for k < K,
// c < ncols (≤ 32), zero elsewhere; out 64-byte aligned. Bit-for-bit pack_panel_bf16(K, ncols, src,
// ld, 1, out). (Backward panels: 32 columns of W; forward panels: an fp32 [K, 32] panel, ld = 32.)
void pack_pairs_bf16(int64_t K, int64_t ncols, const float* src, int64_t ld, uint16_t* out);

// dst[m, 0:K) = bf16(src[m, 0:K)), dst[m, K:ldd) = 0, for m < M (vcvtneps2bf16, 16 at a time).
void convert_rows_bf16(int64_t M, int64_t K, const float* src, int64_t lds, uint16_t* dst, int64_t ldd);

}  // namespace recurrent::avx512
