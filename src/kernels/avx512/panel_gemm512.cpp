// AVX-512 GEMM against one 32-column panel of a pre-packed right operand: the recurrent step's
// product h_{t-1} · W_hhᵀ (and dA_t · W_hh in BPTT), cut into panels so that each thread owns a set
// of panels and the gate/state pass of the hidden units they produce (src/nn/rnn_fused.cpp).
//   A: [M, K] row-major (lda)    P: [K, 32] contiguous (a panel, zero-padded past ncols)
//   C[M, 0:ncols] = (accumulate ? C : 0) + A · P
// Register blocking: MR = 8 rows × 32 columns = 16 zmm accumulators; per k one broadcast of A per
// row and two loads of P. M = 1 (batch-1 inference) splits K four ways to hide the FMA latency.
// Accumulation order per element: k ascending (within each of the 4 partial sums for M = 1), fp32.
#include "kernels/avx512/cells.h"
#include "kernels/avx512/panel_rows.h"

namespace recurrent::avx512 {

namespace {
template <int MR>
void block(int64_t K, const float* A, int64_t lda, const float* P, int64_t ncols, float* C, int64_t ldc,
           bool accumulate) {
  __m512 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_load_ps(P + k * 32), b1 = _mm512_load_ps(P + k * 32 + 16);
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(A[r * lda + k]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
  }
  for (int r = 0; r < MR; ++r) store_panel_row(C + r * ldc, c0[r], c1[r], ncols, accumulate);
}

// M = 1: a matrix-vector product; four partial sums over k mod 4 keep 8 FMA chains in flight.
void row1(int64_t K, const float* A, const float* P, int64_t ncols, float* C, bool accumulate) {
  __m512 s[8];
  for (auto& v : s) v = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 4 <= K; k += 4)
    for (int u = 0; u < 4; ++u) {
      const __m512 a = _mm512_set1_ps(A[k + u]);
      s[2 * u] = _mm512_fmadd_ps(a, _mm512_load_ps(P + (k + u) * 32), s[2 * u]);
      s[2 * u + 1] = _mm512_fmadd_ps(a, _mm512_load_ps(P + (k + u) * 32 + 16), s[2 * u + 1]);
    }
  for (; k < K; ++k) {
    const __m512 a = _mm512_set1_ps(A[k]);
    s[0] = _mm512_fmadd_ps(a, _mm512_load_ps(P + k * 32), s[0]);
    s[1] = _mm512_fmadd_ps(a, _mm512_load_ps(P + k * 32 + 16), s[1]);
  }
  const __m512 c0 = _mm512_add_ps(_mm512_add_ps(s[0], s[2]), _mm512_add_ps(s[4], s[6]));
  const __m512 c1 = _mm512_add_ps(_mm512_add_ps(s[1], s[3]), _mm512_add_ps(s[5], s[7]));
  store_panel_row(C, c0, c1, ncols, accumulate);
}
}  // namespace

void panel_gemm(int64_t M, int64_t K, const float* A, int64_t lda, const float* P, int64_t ncols, float* C,
                int64_t ldc, bool accumulate) {
  for_row_blocks(
      M, [&](auto mr, int64_t m) { block<decltype(mr)::value>(K, A + m * lda, lda, P, ncols, C + m * ldc, ldc, accumulate); },
      [&](int64_t m) { row1(K, A + m * lda, P, ncols, C + m * ldc, accumulate); });
}

}  // namespace recurrent::avx512
