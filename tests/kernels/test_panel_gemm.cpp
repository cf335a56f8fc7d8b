// The panel GEMM of the fused RNN loops (src/kernels/simd/panel-inl.h), on every SIMD target this CPU
// runs, against the naive double-accumulating gemm_reference: every row-block size (M = 1..17 covers
// the 8- and 6-row blocks, each remainder and the M = 1 four-way split), K from 1 to 67 (unroll tails),
// full and partial panels (ncols P, P/2 + 1, P/2, 5), overwrite and accumulate, and columns past ncols
// of C left untouched. Tolerance as tests/kernels/test_gemm.cpp: (K + 4)·u·Σ|a·b| + u·|ref|.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/simd/rnn_kernels.h"
#include "kernels/simd_targets.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"
#include "recurrent/kernels/gemm.h"

namespace recurrent {
namespace {

constexpr float kPanelU = std::numeric_limits<float>::epsilon() / 2;

class PanelGemm : public ::testing::TestWithParam<int64_t> {};

TEST_P(PanelGemm, MatchesReferenceOnEveryBlockShape) {
  const simd::RnnKernels& kern = simd::rnn_kernels(GetParam());
  const int64_t PW = kern.panel;
  Rng rng(3);
  for (int64_t M : {1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 16, 17})
    for (int64_t K : {1, 3, 4, 5, 33, 67})
      for (int64_t ncols : {PW, PW / 2 + 1, PW / 2, int64_t{5}})
        for (bool acc : {false, true}) {
          const int64_t lda = K + 3, ldc = 40;
          std::vector<float> A(M * lda), C(M * ldc), ref(M * ldc), absum(M * ldc, 0.0f);
          Tensor P({K, PW});
          for (float& v : A) v = rng.uniform(-1.0f, 1.0f);
          for (int64_t k = 0; k < K; ++k)
            for (int64_t c = 0; c < ncols; ++c) P.data()[k * PW + c] = rng.uniform(-1.0f, 1.0f);
          for (float& v : C) v = rng.uniform(-1.0f, 1.0f);
          ref = C;
          gemm_reference(Trans::N, Trans::N, M, ncols, K, 1.0f, A.data(), lda, P.data(), PW, acc ? 1.0f : 0.0f,
                         ref.data(), ldc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ncols; ++j)
              for (int64_t k = 0; k < K; ++k) absum[i * ldc + j] += std::fabs(A[i * lda + k] * P.data()[k * PW + j]);
          std::vector<float> before = C;
          kern.panel_gemm(M, K, A.data(), lda, P.data(), ncols, C.data(), ldc, acc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ldc; ++j) {
              const int64_t e = i * ldc + j;
              if (j >= ncols) {
                ASSERT_EQ(C[e], before[e]) << "column " << j << " past ncols=" << ncols << " was written";
                continue;
              }
              const float bound = (K + 4) * kPanelU * (absum[e] + (acc ? std::fabs(before[e]) : 0.0f)) + kPanelU * std::fabs(ref[e]);
              ASSERT_NEAR(C[e], ref[e], bound + 1e-30f)
                  << "M=" << M << " K=" << K << " ncols=" << ncols << " acc=" << acc << " at (" << i << ", " << j << ")";
            }
        }
}

// panel_gemm2 (the folded step [x_t | h_{t-1}] · [W_ih ; W_hh]ᵀ): two left operands with their own
// leading dimensions against consecutive panel rows, in one accumulation. Against the reference on
// the concatenated operand, same bound; every row-block shape, segment lengths with unroll tails.
TEST_P(PanelGemm, TwoSegmentsMatchTheConcatenatedProduct) {
  const simd::RnnKernels& kern = simd::rnn_kernels(GetParam());
  const int64_t PW = kern.panel;
  Rng rng(5);
  for (int64_t M : {1, 2, 7, 8, 9, 17})
    for (int64_t K1 : {1, 5, 33})
      for (int64_t K2 : {3, 4, 67})
        for (bool acc : {false, true}) {
          const int64_t K = K1 + K2, lda1 = K1 + 2, lda2 = K2 + 5, ldc = 37, ncols = PW - 3;
          std::vector<float> A1(M * lda1), A2(M * lda2), A(M * K), C(M * ldc), absum(M * ldc, 0.0f);
          for (float& v : A1) v = rng.uniform(-1.0f, 1.0f);
          for (float& v : A2) v = rng.uniform(-1.0f, 1.0f);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t k = 0; k < K; ++k) A[i * K + k] = k < K1 ? A1[i * lda1 + k] : A2[i * lda2 + k - K1];
          Tensor P({K, PW});
          for (int64_t k = 0; k < K; ++k)
            for (int64_t c = 0; c < ncols; ++c) P.data()[k * PW + c] = rng.uniform(-1.0f, 1.0f);
          for (float& v : C) v = rng.uniform(-1.0f, 1.0f);
          std::vector<float> ref = C, before = C;
          gemm_reference(Trans::N, Trans::N, M, ncols, K, 1.0f, A.data(), K, P.data(), PW, acc ? 1.0f : 0.0f,
                         ref.data(), ldc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ncols; ++j)
              for (int64_t k = 0; k < K; ++k) absum[i * ldc + j] += std::fabs(A[i * K + k] * P.data()[k * PW + j]);
          kern.panel_gemm2(M, K1, A1.data(), lda1, K2, A2.data(), lda2, P.data(), ncols, C.data(), ldc, acc, nullptr);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ldc; ++j) {
              const int64_t e = i * ldc + j;
              if (j >= ncols) {
                ASSERT_EQ(C[e], before[e]) << "column " << j << " past ncols was written";
                continue;
              }
              const float bound = (K + 4) * kPanelU * (absum[e] + (acc ? std::fabs(before[e]) : 0.0f)) + kPanelU * std::fabs(ref[e]);
              ASSERT_NEAR(C[e], ref[e], bound + 1e-30f)
                  << "M=" << M << " K1=" << K1 << " K2=" << K2 << " acc=" << acc << " at (" << i << ", " << j << ")";
            }
        }
}

// panel_gemm_pair (two consecutive panels against the same left operand, the fused loops' gates g and g + 1):
// bitwise two panel_gemm2 calls (checked against the reference above) on every row-block shape (the 6-row
// blocks of the wide kernel, each remainder, M = 1), one segment (K2 = 0) or two, partial panels, overwrite and
// accumulate, with and without the prefetched panels; columns past ncols untouched in both outputs.
TEST_P(PanelGemm, PairIsBitwiseTwoSingleProducts) {
  const simd::RnnKernels& kern = simd::rnn_kernels(GetParam());
  const int64_t PW = kern.panel;
  Rng rng(9);
  for (int64_t M : {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 17})
    for (int64_t K1 : {1, 5, 33})
      for (int64_t K2 : {0, 4, 67})
        for (int64_t ncols : {PW, PW - 3, int64_t{5}})
          for (int variant = 0; variant < 3; ++variant) {  // 0: overwrite, 1: accumulate, 2: accumulate + prefetch
            const bool acc = variant > 0;
            const int64_t K = K1 + K2, lda1 = K1 + 2, lda2 = K2 + 5, ldc = 2 * PW + 7;
            std::vector<float> A1(M * lda1), A2(M * lda2 + 1), C(M * ldc);
            for (float& v : A1) v = rng.uniform(-1.0f, 1.0f);
            for (float& v : A2) v = rng.uniform(-1.0f, 1.0f);
            Tensor P({4, K, PW});  // panels 0, 1 multiplied; 2, 3 only prefetched
            for (int64_t i = 0; i < P.numel(); ++i) P.data()[i] = rng.uniform(-1.0f, 1.0f);
            for (float& v : C) v = rng.uniform(-1.0f, 1.0f);
            std::vector<float> ref = C, before = C;
            const float* p0 = P.data();
            kern.panel_gemm2(M, K1, A1.data(), lda1, K2, A2.data(), lda2, p0, ncols, ref.data(), ldc, acc, nullptr);
            kern.panel_gemm2(M, K1, A1.data(), lda1, K2, A2.data(), lda2, p0 + K * PW, ncols, ref.data() + PW + 3, ldc,
                             acc, nullptr);
            const float* next = variant == 2 ? p0 + 2 * K * PW : nullptr;
            const float* next2 = variant == 2 ? p0 + 3 * K * PW : nullptr;
            kern.panel_gemm_pair(M, K1, A1.data(), lda1, K2, A2.data(), lda2, p0, ncols, C.data(), C.data() + PW + 3,
                                 ldc, acc, next, next2);
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < ldc; ++j) {
                const int64_t e = i * ldc + j;
                const bool out = j < ncols || (j >= PW + 3 && j < PW + 3 + ncols);
                ASSERT_EQ(C[e], out ? ref[e] : before[e])
                    << "M=" << M << " K1=" << K1 << " K2=" << K2 << " ncols=" << ncols << " variant=" << variant
                    << " at (" << i << ", " << j << ")" << (out ? "" : ": a column past ncols was written");
              }
          }
}

INSTANTIATE_TEST_SUITE_P(Targets, PanelGemm, ::testing::ValuesIn(simd::cpu_targets()), testing::TargetName());

}  // namespace
}  // namespace recurrent
