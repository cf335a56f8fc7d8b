// The AVX-512 panel GEMM of the fused RNN loops (src/kernels/avx512/panel_gemm512.cpp) against
// the naive double-accumulating gemm_reference: every row-block size (M = 1..17 covers the 8-row
// blocks, each remainder 1..7 and the M = 1 four-way split), K from 1 to 67 (unroll tails), full
// and partial panels (ncols 32, 17, 16, 5), overwrite and accumulate, and columns past ncols of C
// left untouched. Tolerance as tests/kernels/test_gemm.cpp: (K + 4)·u·Σ|a·b| + u·|ref|.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/avx512/cells.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/gemm.h"

namespace recurrent {
namespace {

constexpr float kU = std::numeric_limits<float>::epsilon() / 2;

TEST(PanelGemm, MatchesReferenceOnEveryBlockShape) {
  if (!cpu_has_avx512()) GTEST_SKIP() << "no AVX-512 on this CPU: the panel kernel is never called";
  Rng rng(3);
  for (int64_t M : {1, 2, 3, 7, 8, 9, 16, 17})
    for (int64_t K : {1, 3, 4, 5, 33, 67})
      for (int64_t ncols : {32, 17, 16, 5})
        for (bool acc : {false, true}) {
          const int64_t lda = K + 3, ldc = 40;
          std::vector<float> A(M * lda), C(M * ldc), ref(M * ldc), absum(M * ldc, 0.0f);
          Tensor P({K, 32});
          for (float& v : A) v = rng.uniform(-1.0f, 1.0f);
          for (int64_t k = 0; k < K; ++k)
            for (int64_t c = 0; c < ncols; ++c) P.data()[k * 32 + c] = rng.uniform(-1.0f, 1.0f);
          for (float& v : C) v = rng.uniform(-1.0f, 1.0f);
          ref = C;
          gemm_reference(Trans::N, Trans::N, M, ncols, K, 1.0f, A.data(), lda, P.data(), 32, acc ? 1.0f : 0.0f,
                         ref.data(), ldc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ncols; ++j)
              for (int64_t k = 0; k < K; ++k) absum[i * ldc + j] += std::fabs(A[i * lda + k] * P.data()[k * 32 + j]);
          std::vector<float> before = C;
          avx512::panel_gemm(M, K, A.data(), lda, P.data(), ncols, C.data(), ldc, acc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ldc; ++j) {
              const int64_t e = i * ldc + j;
              if (j >= ncols) {
                ASSERT_EQ(C[e], before[e]) << "column " << j << " past ncols=" << ncols << " was written";
                continue;
              }
              const float bound = (K + 4) * kU * (absum[e] + (acc ? std::fabs(before[e]) : 0.0f)) + kU * std::fabs(ref[e]);
              ASSERT_NEAR(C[e], ref[e], bound + 1e-30f)
                  << "M=" << M << " K=" << K << " ncols=" << ncols << " acc=" << acc << " at (" << i << ", " << j << ")";
            }
        }
}

// panel_gemm2 (the folded step [x_t | h_{t-1}] · [W_ih ; W_hh]ᵀ): two left operands with their own
// leading dimensions against consecutive panel rows, in one accumulation. Against the reference on
// the concatenated operand, same bound; every row-block shape, segment lengths with unroll tails.
TEST(PanelGemm, TwoSegmentsMatchTheConcatenatedProduct) {
  if (!cpu_has_avx512()) GTEST_SKIP() << "no AVX-512 on this CPU: the panel kernel is never called";
  Rng rng(5);
  for (int64_t M : {1, 2, 7, 8, 9, 17})
    for (int64_t K1 : {1, 5, 33})
      for (int64_t K2 : {3, 4, 67})
        for (bool acc : {false, true}) {
          const int64_t K = K1 + K2, lda1 = K1 + 2, lda2 = K2 + 5, ldc = 37, ncols = 29;
          std::vector<float> A1(M * lda1), A2(M * lda2), A(M * K), C(M * ldc), absum(M * ldc, 0.0f);
          for (float& v : A1) v = rng.uniform(-1.0f, 1.0f);
          for (float& v : A2) v = rng.uniform(-1.0f, 1.0f);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t k = 0; k < K; ++k) A[i * K + k] = k < K1 ? A1[i * lda1 + k] : A2[i * lda2 + k - K1];
          Tensor P({K, 32});
          for (int64_t k = 0; k < K; ++k)
            for (int64_t c = 0; c < ncols; ++c) P.data()[k * 32 + c] = rng.uniform(-1.0f, 1.0f);
          for (float& v : C) v = rng.uniform(-1.0f, 1.0f);
          std::vector<float> ref = C, before = C;
          gemm_reference(Trans::N, Trans::N, M, ncols, K, 1.0f, A.data(), K, P.data(), 32, acc ? 1.0f : 0.0f,
                         ref.data(), ldc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ncols; ++j)
              for (int64_t k = 0; k < K; ++k) absum[i * ldc + j] += std::fabs(A[i * K + k] * P.data()[k * 32 + j]);
          avx512::panel_gemm2(M, K1, A1.data(), lda1, K2, A2.data(), lda2, P.data(), ncols, C.data(), ldc, acc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ldc; ++j) {
              const int64_t e = i * ldc + j;
              if (j >= ncols) {
                ASSERT_EQ(C[e], before[e]) << "column " << j << " past ncols was written";
                continue;
              }
              const float bound = (K + 4) * kU * (absum[e] + (acc ? std::fabs(before[e]) : 0.0f)) + kU * std::fabs(ref[e]);
              ASSERT_NEAR(C[e], ref[e], bound + 1e-30f)
                  << "M=" << M << " K1=" << K1 << " K2=" << K2 << " acc=" << acc << " at (" << i << ", " << j << ")";
            }
        }
}

}  // namespace
}  // namespace recurrent
