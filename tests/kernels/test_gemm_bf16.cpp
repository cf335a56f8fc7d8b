// gemm_bf16 (src/kernels/gemm_bf16.cpp: oneDNN matmul, bf16 × bf16 → f32) against a double loop on
// the same bf16-rounded operands: only fp32 summation order may differ, bound (K + 4)·u·Σ|a·b| +
// u·|ref| (as test_panel_gemm.cpp). Both layouts of B (the x-projection X·W_ihᵀ is Trans::T, dX =
// dA·W_ih Trans::N), beta 0 and 1, odd sizes; transposed and column-sliced views (weight gradients);
// and the shapes of a layer's products run JIT kernels, not oneDNN's reference loops.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <utility>
#include <limits>
#include <string>
#include <vector>

#include "kernels/avx512/panel_bf16.h"
#include "kernels/gemm_bf16.h"
#include "recurrent/core/rng.h"
#include "recurrent/kernels/cpu.h"

namespace recurrent {
namespace {

constexpr double kUnitRoundoff = std::numeric_limits<float>::epsilon() / 2;

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
                ASSERT_NEAR(C[i * N + j], ref, (K + 4) * kUnitRoundoff * absum + kUnitRoundoff * std::fabs(ref) + 1e-30)
                    << "tb=" << (tb == Trans::N ? "N" : "T") << " M=" << M << " N=" << N << " K=" << K << " beta=" << beta;
              }
          }
}

// The weight-gradient shape: C[M, N] += Aᵀ·B with A stored [K, M] (dW = dAᵀ·X), and a column slice of
// A (Cho's GRU takes dA[:, 0:2H] and dA[:, 2H:3H]).
TEST(GemmBf16, TransposedAndSlicedViews) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  Rng rng(6);
  const int64_t K = 45, Mfull = 21, N = 13, j0 = 7, M = 9;
  std::vector<float> A(K * Mfull), B(K * N), C(M * N);
  for (float& v : A) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : B) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : C) v = rng.uniform(-1.0f, 1.0f);
  const std::vector<float> before = C;
  const Bf16Matrix a(K, Mfull, A.data(), Mfull), b(K, N, B.data(), N);
  matmul_bf16(a.view().columns(j0, M).t(), b.view(), 1.0f, C.data(), N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double ref = before[i * N + j], absum = std::fabs(ref);
      for (int64_t k = 0; k < K; ++k) {
        const double t = static_cast<double>(avx512::round_bf16(A[k * Mfull + j0 + i])) * avx512::round_bf16(B[k * N + j]);
        ref += t;
        absum += std::fabs(t);
      }
      ASSERT_NEAR(C[i * N + j], ref, (K + 4) * kUnitRoundoff * absum + kUnitRoundoff * std::fabs(ref)) << i << ", " << j;
    }
}

// The shapes of an LSTM H = 256 layer's products at T·B = 1600 run JIT kernels, not oneDNN's
// reference loops: x-projection X·W_ihᵀ, dX = dA·W_ih, dW_ih = dAᵀ·X.
TEST(GemmBf16, RecurrentLayerShapesRunAJitKernel) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  const int64_t TB = 1600, GH = 1024, I = 256;
  std::vector<float> x(TB * I, 0.5f), w(GH * I, 0.25f), da(TB * GH, 0.125f);
  const Bf16Matrix xb(TB, I, x.data(), I), wb(GH, I, w.data(), I), dab(TB, GH, da.data(), GH);
  const std::pair<std::string, std::string> cases[] = {
      {"x W_ih^T", matmul_bf16_impl(xb.view(), wb.view().t(), 0.0f, GH)},
      {"dA W_ih", matmul_bf16_impl(dab.view(), wb.view(), 1.0f, I)},
      {"dA^T X", matmul_bf16_impl(dab.view().t(), xb.view(), 1.0f, I)},
      {"dA[:, 256:512]^T X", matmul_bf16_impl(dab.view().columns(256, 256).t(), xb.view(), 1.0f, I)}};
  for (const auto& [what, impl] : cases) {
    EXPECT_FALSE(impl.empty()) << what;
    EXPECT_EQ(impl.find("ref"), std::string::npos) << what << ": oneDNN runs its reference loops: " << impl;
    std::printf("  %-20s %s\n", what.c_str(), impl.c_str());
  }
}

}  // namespace
}  // namespace recurrent
