// The recurrent step's product against one panel of packed weights, for every SIMD target:
// h_{t-1} · W_hhᵀ (and dA_t · W_hh in BPTT), cut into panels so that each thread owns a set of panels
// and the gate/state pass of the hidden units they produce (src/nn/rnn_fused.cpp).
//   panel width kPanel = 2 vectors (32 columns on AVX-512, 16 on AVX2, 8 on SSE4 and NEON)
//   A: [M, K] row-major (lda)    P: [K, kPanel] contiguous, aligned (zero-padded past ncols)
//   C[M, 0:ncols] = (accumulate ? C : 0) + A · P
// Register blocking: kMR rows × 2 vectors of accumulators, one broadcast of A per row and two loads of
// P per k; kMR = 8 with 32 vector registers (16 accumulators), 6 with 16 (12 accumulators + 2 + 1).
// M = 1 (batch-1 inference) splits K four ways to hide the FMA latency. Accumulation order per
// element: k ascending (within each of the 4 partial sums when M = 1), fp32; for M ≥ 2 a row's result is
// the same whatever block it falls in.
// PanelGemm2 runs two left operands against consecutive panel rows in one accumulation: the folded
// step [x_t | h_{t-1}] · [W_ih ; W_hh]ᵀ of the fused forward loops (rnn_fused.cpp, "input folded").
// PanelGemmPair runs the same left operand(s) against two consecutive panels (two gates of a unit block)
// in a 4-row × 4-vector block on targets with 32 vector registers: bitwise two PanelGemm2 calls.
#if defined(RECURRENT_KERNELS_SIMD_PANEL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_PANEL_INL_H_
#undef RECURRENT_KERNELS_SIMD_PANEL_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_PANEL_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

inline constexpr int64_t kPanel = 2 * kLanes;
inline constexpr int kMR = kVectorRegisters >= 32 ? 8 : 6;

// One 32-column panel from up to kPanel rows of a row-major matrix, transposed:
//   src: [nrows, K] (leading dimension ld, nrows ≤ kPanel)   dst: [K, kPanel], aligned
//   dst[k·kPanel + c] = src[c·ld + k] for c < nrows, 0 for c ≥ nrows.
// Blocks of 16 k: the block's 16 destination rows stay in L1 while every source row passes through.
inline void PackRowsTransposed(const float* src, int64_t ld, int64_t nrows, int64_t K, float* dst) {
  constexpr int64_t kKB = 16;
  for (int64_t k0 = 0; k0 < K; k0 += kKB) {
    const int64_t k1 = std::min(K, k0 + kKB);
    for (int64_t c = 0; c < nrows; ++c)
      for (int64_t k = k0; k < k1; ++k) dst[k * kPanel + c] = src[c * ld + k];
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t c = nrows; c < kPanel; ++c) dst[k * kPanel + c] = 0.0f;
  }
}

// C row [0, ncols) = (accumulate ? C : 0) + (v0 | v1); columns past ncols untouched (never read or written:
// they belong to other blocks, possibly of another thread).
template <class K0, class K1>
HWY_INLINE void StoreTwo(float* c, V v0, V v1, K0 k0, K1 k1, bool accumulate) {
  if (accumulate) {
    v0 = hn::Add(v0, Ld(k0, c));
    v1 = hn::Add(v1, Ld(k1, c + kLanes));
  }
  St(k0, c, v0);
  St(k1, c + kLanes, v1);
}
HWY_INLINE void StorePanelRow(float* c, V v0, V v1, int64_t ncols, bool accumulate) {
  if (ncols == kPanel) return StoreTwo(c, v0, v1, Full{}, Full{}, accumulate);
  if (ncols > kLanes) return StoreTwo(c, v0, v1, Full{}, Tail{ncols - kLanes}, accumulate);
  if (ncols == kLanes) {
    if (accumulate) v0 = hn::Add(v0, Ld(Full{}, c));
    return St(Full{}, c, v0);
  }
  if (accumulate) v0 = hn::Add(v0, Ld(Tail{ncols}, c));
  St(Tail{ncols}, c, v0);
}

// One segment of the left operand: rows of K values (leading dimension ld), multiplying the panel
// rows that follow the previous segment's.
struct Seg {
  int64_t K;
  const float* A;
  int64_t ld;
};

// c0/c1[r] += A[r, 0:K] · P[0:K] (inlined, so the accumulators stay in registers).
// kPf: also prefetch the same rows of the next panel (pf) into L2.
template <int MR, bool kPf>
HWY_INLINE void AccumulateBlock(int64_t K, const float* A, int64_t lda, const float* P, const float* pf, V* c0,
                                V* c1) {
  const D d;
  for (int64_t k = 0; k < K; ++k) {
    if (kPf) {
      __builtin_prefetch(pf + k * kPanel, 0, 2);
      if (kPanel * 4 > 64) __builtin_prefetch(pf + k * kPanel + 16, 0, 2);
    }
    const V b0 = hn::Load(d, P + k * kPanel), b1 = hn::Load(d, P + k * kPanel + kLanes);
    for (int r = 0; r < MR; ++r) {
      const V a = hn::Set(d, A[r * lda + k]);
      c0[r] = hn::MulAdd(a, b0, c0[r]);
      c1[r] = hn::MulAdd(a, b1, c1[r]);
    }
  }
}

template <int MR, bool kTwo, bool kPf>
HWY_NOINLINE void Block(Seg s1, Seg s2, const float* P, const float* pf, int64_t ncols, float* C, int64_t ldc,
                        bool accumulate) {
  V c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = hn::Zero(D());
  AccumulateBlock<MR, kPf>(s1.K, s1.A, s1.ld, P, pf, c0, c1);
  if (kTwo) AccumulateBlock<MR, kPf>(s2.K, s2.A, s2.ld, P + s1.K * kPanel, pf + s1.K * kPanel, c0, c1);
  for (int r = 0; r < MR; ++r) StorePanelRow(C + r * ldc, c0[r], c1[r], ncols, accumulate);
}

// M = 1: a matrix-vector product; four partial sums over k mod 4 (per segment) keep 8 FMA chains in flight.
inline void Row1(Seg s1, Seg s2, const float* P, int64_t ncols, float* C, bool accumulate) {
  const D d;
  V s[8];
  for (auto& v : s) v = hn::Zero(d);
  const Seg segs[2] = {s1, s2};
  for (const Seg& g : segs) {
    const float* A = g.A;
    const int64_t K = g.K;
    int64_t k = 0;
    for (; k + 4 <= K; k += 4)
      for (int u = 0; u < 4; ++u) {
        const V a = hn::Set(d, A[k + u]);
        s[2 * u] = hn::MulAdd(a, hn::Load(d, P + (k + u) * kPanel), s[2 * u]);
        s[2 * u + 1] = hn::MulAdd(a, hn::Load(d, P + (k + u) * kPanel + kLanes), s[2 * u + 1]);
      }
    for (; k < K; ++k) {
      const V a = hn::Set(d, A[k]);
      s[0] = hn::MulAdd(a, hn::Load(d, P + k * kPanel), s[0]);
      s[1] = hn::MulAdd(a, hn::Load(d, P + k * kPanel + kLanes), s[1]);
    }
    P += K * kPanel;
  }
  const V c0 = hn::Add(hn::Add(s[0], s[2]), hn::Add(s[4], s[6]));
  const V c1 = hn::Add(hn::Add(s[1], s[3]), hn::Add(s[5], s[7]));
  StorePanelRow(C, c0, c1, ncols, accumulate);
}

// Rows [0, M) in blocks of kMR, then one block of the remaining rows (1..kMR-1). Every row of every
// block accumulates k in ascending order, so a row's result does not depend on the block it falls in:
// any cut of the rows between threads gives bitwise the same C. Only M = 1 as a whole takes the
// latency-hiding matrix-vector form (batch-1 inference). next (or null): a panel to bring into L2 while
// the first row block runs (the caller's next product).
template <bool kTwo, int MR = kMR - 1>
HWY_INLINE void Remainder(int64_t rows, Seg s1, Seg s2, const float* P, const float* next, int64_t ncols, float* C,
                          int64_t ldc, bool accumulate) {
  if constexpr (MR >= 1) {
    if (rows == MR) {
      if (next) return Block<MR, kTwo, true>(s1, s2, P, next, ncols, C, ldc, accumulate);
      return Block<MR, kTwo, false>(s1, s2, P, nullptr, ncols, C, ldc, accumulate);
    }
    Remainder<kTwo, MR - 1>(rows, s1, s2, P, next, ncols, C, ldc, accumulate);
  }
}

template <bool kTwo>
HWY_INLINE void Run(int64_t M, Seg s1, Seg s2, const float* P, const float* next, int64_t ncols, float* C,
                    int64_t ldc, bool accumulate) {
  if (M == 1) return Row1(s1, s2, P, ncols, C, accumulate);
  int64_t m = 0;
  const auto at = [](Seg s, int64_t r) { return Seg{s.K, s.A + r * s.ld, s.ld}; };
  for (; m + kMR <= M; m += kMR) {
    if (next && m == 0) {
      Block<kMR, kTwo, true>(s1, s2, P, next, ncols, C, ldc, accumulate);
    } else {
      Block<kMR, kTwo, false>(at(s1, m), at(s2, m), P, nullptr, ncols, C + m * ldc, ldc, accumulate);
    }
  }
  if (m < M) Remainder<kTwo>(M - m, at(s1, m), at(s2, m), P, m == 0 ? next : nullptr, ncols, C + m * ldc, ldc, accumulate);
}

inline void PanelGemm(int64_t M, int64_t K, const float* A, int64_t lda, const float* P, int64_t ncols, float* C,
                      int64_t ldc, bool accumulate) {
  Run<false>(M, {K, A, lda}, {0, A, lda}, P, nullptr, ncols, C, ldc, accumulate);
}

inline void PanelGemm2(int64_t M, int64_t K1, const float* A1, int64_t lda1, int64_t K2, const float* A2,
                       int64_t lda2, const float* P, int64_t ncols, float* C, int64_t ldc, bool accumulate,
                       const float* next) {
  Run<true>(M, {K1, A1, lda1}, {K2, A2, lda2}, P, next, ncols, C, ldc, accumulate);
}

// ---- PanelGemmPair: one left operand against TWO consecutive panels (the fused loops' gates g and g + 1 of one
// unit block) in one register block of kMR4 rows × 4 vectors: one broadcast of A feeds 4 FMAs instead of 2 and
// each panel row load serves kMR4 rows (on Ice Lake, 8 × 2 vectors ran at ~68% of the FMA peak with the data in
// L1/L2, 4 × 4 vectors at ~84%: docs/engine.md). 6 rows (24 accumulators + 4 panel vectors + 1 broadcast of
// the 32 registers): a panel pair of K = 512 rows (128 KB) does not fit L1, so every row block streams it from
// L2, and 6 rows ask 2/3 of the bytes per FMA that 4 rows do — on Sapphire Rapids (AMX Xeon, 1 thread,
// bench_panel_gemm pair_avx512) M = 32 × 512 × 512 145.8 → 157.2 GFLOP/s, 64 × 256 × 1024 134 → 154,
// 64 × 512 × 2048 132 → 146 (zmm FMA peak 205). Every element is the same FMA chain as PanelGemm2's (k ascending
// from 0, then + C when accumulating), so the result is bitwise two PanelGemm2 calls. Targets with 16 vector
// registers, and M = 1 (the matrix-vector form), run exactly those two calls.
inline constexpr int kMR4 = 6;

template <int MR, bool kPf>
HWY_INLINE void AccumulateBlock4(int64_t K, const float* A, int64_t lda, const float* P1, const float* P2,
                                 const float* pf1, const float* pf2, V* c0, V* c1, V* c2, V* c3) {
  const D d;
  for (int64_t k = 0; k < K; ++k) {
    if (kPf) {
      __builtin_prefetch(pf1 + k * kPanel, 0, 2);
      __builtin_prefetch(pf2 + k * kPanel, 0, 2);
      if (kPanel * 4 > 64) {
        __builtin_prefetch(pf1 + k * kPanel + 16, 0, 2);
        __builtin_prefetch(pf2 + k * kPanel + 16, 0, 2);
      }
    }
    const V b0 = hn::Load(d, P1 + k * kPanel), b1 = hn::Load(d, P1 + k * kPanel + kLanes);
    const V b2 = hn::Load(d, P2 + k * kPanel), b3 = hn::Load(d, P2 + k * kPanel + kLanes);
    for (int r = 0; r < MR; ++r) {
      const V a = hn::Set(d, A[r * lda + k]);
      c0[r] = hn::MulAdd(a, b0, c0[r]);
      c1[r] = hn::MulAdd(a, b1, c1[r]);
      c2[r] = hn::MulAdd(a, b2, c2[r]);
      c3[r] = hn::MulAdd(a, b3, c3[r]);
    }
  }
}

// pf1 / pf2: the rows of the next two panels to bring into L2 meanwhile (kPf).
template <int MR, bool kTwo, bool kPf>
HWY_NOINLINE void Block4(Seg s1, Seg s2, const float* P1, const float* pf1, const float* pf2, int64_t ncols, float* C1,
                         float* C2, int64_t ldc, bool accumulate) {
  V c0[MR], c1[MR], c2[MR], c3[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = c2[r] = c3[r] = hn::Zero(D());
  const int64_t Kt = s1.K + s2.K;
  const float* P2 = P1 + Kt * kPanel;
  AccumulateBlock4<MR, kPf>(s1.K, s1.A, s1.ld, P1, P2, pf1, pf2, c0, c1, c2, c3);
  if (kTwo) {
    const int64_t o = s1.K * kPanel;
    AccumulateBlock4<MR, kPf>(s2.K, s2.A, s2.ld, P1 + o, P2 + o, pf1 + o, pf2 + o, c0, c1, c2, c3);
  }
  for (int r = 0; r < MR; ++r) {
    StorePanelRow(C1 + r * ldc, c0[r], c1[r], ncols, accumulate);
    StorePanelRow(C2 + r * ldc, c2[r], c3[r], ncols, accumulate);
  }
}

template <bool kTwo, int MR = kMR4 - 1>
HWY_INLINE void RemainderPair(int64_t rows, Seg s1, Seg s2, const float* P, const float* pf1, const float* pf2,
                              int64_t ncols, float* C1, float* C2, int64_t ldc, bool accumulate) {
  if constexpr (MR >= 1) {
    if (rows == MR) {
      if (pf1) return Block4<MR, kTwo, true>(s1, s2, P, pf1, pf2, ncols, C1, C2, ldc, accumulate);
      return Block4<MR, kTwo, false>(s1, s2, P, nullptr, nullptr, ncols, C1, C2, ldc, accumulate);
    }
    RemainderPair<kTwo, MR - 1>(rows, s1, s2, P, pf1, pf2, ncols, C1, C2, ldc, accumulate);
  }
}

// C1 (+)= [A1 | A2] · P, C2 (+)= [A1 | A2] · P' (P' = P + (K1 + K2)·kPanel, the next panel); next / next2: the
// two panels after them to prefetch (or null: next null prefetches nothing, next2 null only next).
inline void PanelGemmPair(int64_t M, int64_t K1, const float* A1, int64_t lda1, int64_t K2, const float* A2,
                          int64_t lda2, const float* P, int64_t ncols, float* C1, float* C2, int64_t ldc,
                          bool accumulate, const float* next, const float* next2) {
  const int64_t Kt = K1 + K2;
  const Seg s1{K1, A1, lda1}, s2{K2, A2, lda2};
  if (kVectorRegisters < 32 || M == 1) {
    Run<true>(M, s1, s2, P, next, ncols, C1, ldc, accumulate);
    Run<true>(M, s1, s2, P + Kt * kPanel, next2, ncols, C2, ldc, accumulate);
    return;
  }
  if (next && !next2) next2 = next;
  const auto at = [](Seg s, int64_t r) { return Seg{s.K, s.A + r * s.ld, s.ld}; };
  int64_t m = 0;
  for (; m + kMR4 <= M; m += kMR4) {
    if (next && m == 0) {
      Block4<kMR4, true, true>(s1, s2, P, next, next2, ncols, C1, C2, ldc, accumulate);
    } else {
      Block4<kMR4, true, false>(at(s1, m), at(s2, m), P, nullptr, nullptr, ncols, C1 + m * ldc, C2 + m * ldc, ldc,
                                accumulate);
    }
  }
  if (m < M)
    RemainderPair<true>(M - m, at(s1, m), at(s2, m), P, m == 0 ? next : nullptr, m == 0 ? next2 : nullptr, ncols,
                        C1 + m * ldc, C2 + m * ldc, ldc, accumulate);
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
