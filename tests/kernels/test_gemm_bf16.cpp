// gemm_bf16 (src/kernels/gemm_bf16.cpp: oneDNN matmul, bf16 × bf16 → f32) against a double loop on
// the same bf16-rounded operands: only fp32 summation order may differ, bound (K + 4)·u·Σ|a·b| +
// u·|ref| (as test_panel_gemm.cpp). Both layouts of B (the x-projection X·W_ihᵀ is Trans::T, dX =
// dA·W_ih Trans::N), beta 0 and 1, odd sizes; and the x-projection shape runs a JIT kernel, not
// oneDNN's reference loops.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/avx512/panel_bf16.h"
#include "kernels/gemm_bf16.h"
#include "recurrent/core/rng.h"
#include "recurrent/kernels/cpu.h"

namespace recurrent {
namespace {

constexpr double kU = std::numeric_limits<float>::epsilon() / 2;

TEST(GemmBf16, MatchesScalarLoopOnRoundedOperands) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  Rng rng(4);
  for (Trans tb : {Trans::N, Trans::T})
    for (int64_t M : {1, 7, 33})
      for (int64_t N : {1, 5, 70})
        for (int64_t K : {1, 3, 64, 129})
          for (float beta : {0.0f, 1.0f}) {
            const int64_t lda = K + 2, ldb = (tb == Trans::N ? N : K) + 1;
            std::vector<float> A(M * lda), B((tb == Trans::N ? K : N) * ldb), C(M * N);
            for (float& v : A) v = rng.uniform(-1.0f, 1.0f);
            for (float& v : B) v = rng.uniform(-1.0f, 1.0f);
            for (float& v : C) v = rng.uniform(-1.0f, 1.0f);
            const std::vector<float> before = C;
            gemm_bf16(tb, M, N, K, A.data(), lda, B.data(), ldb, beta, C.data(), N);
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j) {
                double ref = beta * before[i * N + j], absum = std::fabs(ref);
                for (int64_t k = 0; k < K; ++k) {
                  const float b = tb == Trans::N ? B[k * ldb + j] : B[j * ldb + k];
                  const double t = static_cast<double>(avx512::round_bf16(A[i * lda + k])) * avx512::round_bf16(b);
                  ref += t;
                  absum += std::fabs(t);
                }
                ASSERT_NEAR(C[i * N + j], ref, (K + 4) * kU * absum + kU * std::fabs(ref) + 1e-30)
                    << "tb=" << (tb == Trans::N ? "N" : "T") << " M=" << M << " N=" << N << " K=" << K << " beta=" << beta;
              }
          }
}

TEST(GemmBf16, XProjectionRunsAJitKernel) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  for (Trans tb : {Trans::T, Trans::N}) {
    const std::string impl = gemm_bf16_impl(tb, 1600, 1024, 256, tb == Trans::N ? 1.0f : 0.0f);
    EXPECT_FALSE(impl.empty());
    EXPECT_EQ(impl.find("ref"), std::string::npos) << "oneDNN runs its reference loops: " << impl;
  }
}

}  // namespace
}  // namespace recurrent
