// AVX-512 GEMM against one 32-column panel of a pre-packed right operand: the recurrent step's
// product h_{t-1} · W_hhᵀ (and dA_t · W_hh in BPTT), cut into panels so that each thread owns a set
// of panels and the gate/state pass of the hidden units they produce (src/nn/rnn_fused.cpp).
//   A: [M, K] row-major (lda)    P: [K, 32] contiguous (a panel, zero-padded past ncols)
//   C[M, 0:ncols] = (accumulate ? C : 0) + A · P
// Register blocking: MR = 8 rows × 32 columns = 16 zmm accumulators; per k one broadcast of A per
// row and two loads of P. M = 1 (batch-1 inference) splits K four ways to hide the FMA latency.
// Accumulation order per element: k ascending (within each of the 4 partial sums for M = 1), fp32.
// panel_gemm2 runs two left operands against consecutive panel rows in one accumulation: the folded
// step [x_t | h_{t-1}] · [W_ih | W_hh]ᵀ of the fused forward loops (rnn_fused.cpp, "input folded").
#include "kernels/avx512/cells.h"
#include "kernels/avx512/panel_rows.h"

namespace recurrent::avx512 {

namespace {
// One segment of the left operand: rows of K values (leading dimension ld), multiplying the panel
// rows that follow the previous segment's.
struct Seg {
  int64_t K;
  const float* A;
  int64_t ld;
};

// c0/c1[r] += A[r, 0:K] · P[0:K] (the k loop of one segment; inlined, so the accumulators stay in registers).
// kPf: also prefetch the same rows of the next panel (pf) into L2, two cache lines per k.
template <int MR, bool kPf>
[[gnu::always_inline]] inline void accumulate_block(int64_t K, const float* A, int64_t lda, const float* P,
                                                    const float* pf, __m512* c0, __m512* c1) {
  for (int64_t k = 0; k < K; ++k) {
    if (kPf) {
      _mm_prefetch(reinterpret_cast<const char*>(pf + k * 32), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(pf + k * 32 + 16), _MM_HINT_T1);
    }
    const __m512 b0 = _mm512_load_ps(P + k * 32), b1 = _mm512_load_ps(P + k * 32 + 16);
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(A[r * lda + k]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
  }
}

template <int MR, bool kTwo, bool kPf>
void block(Seg s1, Seg s2, const float* P, const float* pf, int64_t ncols, float* C, int64_t ldc, bool accumulate) {
  __m512 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  accumulate_block<MR, kPf>(s1.K, s1.A, s1.ld, P, pf, c0, c1);
  if (kTwo) accumulate_block<MR, kPf>(s2.K, s2.A, s2.ld, P + s1.K * 32, pf + s1.K * 32, c0, c1);
  for (int r = 0; r < MR; ++r) store_panel_row(C + r * ldc, c0[r], c1[r], ncols, accumulate);
}

// M = 1: a matrix-vector product; four partial sums over k mod 4 (per segment) keep 8 FMA chains in flight.
void row1(Seg s1, Seg s2, const float* P, int64_t ncols, float* C, bool accumulate) {
  __m512 s[8];
  for (auto& v : s) v = _mm512_setzero_ps();
  const Seg segs[2] = {s1, s2};
  for (const Seg& g : segs) {
    const float* A = g.A;
    const int64_t K = g.K;
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
    P += K * 32;
  }
  const __m512 c0 = _mm512_add_ps(_mm512_add_ps(s[0], s[2]), _mm512_add_ps(s[4], s[6]));
  const __m512 c1 = _mm512_add_ps(_mm512_add_ps(s[1], s[3]), _mm512_add_ps(s[5], s[7]));
  store_panel_row(C, c0, c1, ncols, accumulate);
}

// next (or null): a panel to bring into L2 while the first row block runs (the next product's).
template <bool kTwo>
void run(int64_t M, Seg s1, Seg s2, const float* P, const float* next, int64_t ncols, float* C, int64_t ldc,
         bool accumulate) {
  const auto at = [](Seg s, int64_t m) { return Seg{s.K, s.A + m * s.ld, s.ld}; };
  for_row_blocks(
      M,
      [&](auto mr, int64_t m) {
        constexpr int kMR = decltype(mr)::value;
        if (next && m == 0) return block<kMR, kTwo, true>(at(s1, m), at(s2, m), P, next, ncols, C, ldc, accumulate);
        block<kMR, kTwo, false>(at(s1, m), at(s2, m), P, nullptr, ncols, C + m * ldc, ldc, accumulate);
      },
      [&](int64_t m) { row1(at(s1, m), at(s2, m), P, ncols, C + m * ldc, accumulate); });
}
}  // namespace

void panel_gemm(int64_t M, int64_t K, const float* A, int64_t lda, const float* P, int64_t ncols, float* C,
                int64_t ldc, bool accumulate) {
  run<false>(M, {K, A, lda}, {0, A, lda}, P, nullptr, ncols, C, ldc, accumulate);
}

void panel_gemm2(int64_t M, int64_t K1, const float* A1, int64_t lda1, int64_t K2, const float* A2, int64_t lda2,
                 const float* P, int64_t ncols, float* C, int64_t ldc, bool accumulate, const float* next) {
  run<true>(M, {K1, A1, lda1}, {K2, A2, lda2}, P, next, ncols, C, ldc, accumulate);
}

}  // namespace recurrent::avx512
