// The AVX512_BF16 panel GEMM of the fused RNN loops in bf16 precision (src/kernels/avx512/
// panel_gemm_bf16.cpp) and its converters:
//   - the scalar to_bf16 (used for packing) is bit-for-bit the vector vcvtneps2bf16 of
//     convert_rows_bf16, ties, denormals, infinities and NaN included;
//   - the GEMM against a double loop on the SAME bf16-rounded operands: the only difference left is
//     fp32 summation order, so the bound is the fp32 one of test_panel_gemm.cpp,
//     (K + 4)·u·Σ|a·b| + u·|ref|, on every row-block size (M = 1..17), K odd and even from 1 to 300
//     (zero-padded pair), full and partial panels, overwrite and accumulate, a leading dimension
//     larger than Kp, and columns past ncols untouched;
//   - both panel packings (rows of W and columns of W) give the same panel.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/avx512/panel_bf16.h"
#include "recurrent/core/rng.h"
#include "recurrent/kernels/cpu.h"

namespace recurrent {
namespace {

using avx512::bf16_pad;
using avx512::from_bf16;
using avx512::to_bf16;

constexpr float kPanelBf16U = std::numeric_limits<float>::epsilon() / 2;

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// 64-byte aligned uint16 storage for panels.
struct Aligned {
  std::vector<uint16_t> buf;
  uint16_t* p;
  explicit Aligned(size_t n) : buf(n + 32) {
    auto a = reinterpret_cast<uintptr_t>(buf.data());
    p = buf.data() + ((64 - a % 64) % 64) / 2;
  }
};

TEST(PanelGemmBf16, ScalarRoundingMatchesTheInstruction) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f, 3.14159265f, 1e-30f, -1e-38f, 65504.0f, 3.4e38f,
                          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(), from_bits(0x7F800001u),  // signalling NaN
                          from_bits(0x00000001u), from_bits(0x807FFFFFu),                   // denormals
                          from_bits(0x3F808000u), from_bits(0x3F818000u),                   // ties: to even
                          from_bits(0x3F808001u), from_bits(0x3F817FFFu), from_bits(0x7F7FFFFFu)};
  Rng rng(5);
  for (int i = 0; i < 20000; ++i) {
    uint32_t u = static_cast<uint32_t>(rng.uniform(0.0f, 1.0f) * 4294967040.0f);
    v.push_back(from_bits(u));
    v.push_back(rng.uniform(-2.0f, 2.0f));
  }
  std::vector<uint16_t> out(v.size() + 3, 0xFFFF);
  avx512::convert_rows_bf16(1, static_cast<int64_t>(v.size()), v.data(), 0, out.data(), bf16_pad(v.size()) + 2);
  for (size_t i = 0; i < v.size(); ++i)
    ASSERT_EQ(out[i], to_bf16(v[i])) << "value " << v[i] << " bits " << std::hex << std::bit_cast<uint32_t>(v[i]);
  for (size_t i = v.size(); i < static_cast<size_t>(bf16_pad(v.size()) + 2); ++i) EXPECT_EQ(out[i], 0) << "padding " << i;
  EXPECT_EQ(out.back(), 0xFFFF) << "written past ldd";
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 1.0f / 256)), 1.0f);  // tie to even (down)
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256);  // tie to even (up)
}

TEST(PanelGemmBf16, PackingsAgree) {
  // The packers live in a file built for AVX-512 (even the scalar one may use its instructions).
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this CPU: the bf16 packers are never called";
  const int64_t K = 37, n = 19;
  Rng rng(2);
  std::vector<float> w(K * n), wt(n * K);  // w [K, n], wt = wᵀ [n, K]
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < n; ++c) wt[c * K + k] = w[k * n + c] = rng.uniform(-1.0f, 1.0f);
  Aligned a(avx512::panel_bf16_elems(K)), b(avx512::panel_bf16_elems(K));
  avx512::pack_panel_bf16(K, n, w.data(), n, 1, a.p);
  avx512::pack_panel_bf16(K, n, wt.data(), 1, K, b.p);
  for (int64_t i = 0; i < avx512::panel_bf16_elems(K); ++i) ASSERT_EQ(a.p[i], b.p[i]) << i;
  if (cpu_has_avx512_bf16()) {  // the vectorised packer, from rows (and from an fp32 [K, 32] panel)
    for (int64_t nc : {n, int64_t{32}, int64_t{1}, int64_t{16}})
      for (int64_t KK : {K, int64_t{1}, int64_t{2}, int64_t{36}}) {
        Aligned c(avx512::panel_bf16_elems(KK)), d(avx512::panel_bf16_elems(KK));
        std::vector<float> src(KK * 40);
        for (float& v : src) v = rng.uniform(-1.0f, 1.0f);
        avx512::pack_panel_bf16(KK, nc, src.data(), 40, 1, c.p);
        avx512::pack_pairs_bf16(KK, nc, src.data(), 40, d.p);
        for (int64_t i = 0; i < avx512::panel_bf16_elems(KK); ++i) ASSERT_EQ(c.p[i], d.p[i]) << "K=" << KK << " ncols=" << nc << " at " << i;
      }
  }
  for (int64_t k = 0; k < bf16_pad(K); ++k)
    for (int64_t c = 0; c < 32; ++c) {
      const uint16_t e = a.p[(k / 2) * 64 + c * 2 + (k & 1)];
      ASSERT_EQ(e, k < K && c < n ? to_bf16(w[k * n + c]) : uint16_t{0}) << "k=" << k << " c=" << c;
    }
}

TEST(PanelGemmBf16, MatchesScalarLoopOnRoundedOperands) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this CPU: the bf16 kernel is never called";
  Rng rng(3);
  for (int64_t M : {1, 2, 3, 5, 7, 8, 9, 15, 16, 17})
    for (int64_t K : {1, 2, 3, 4, 5, 8, 9, 33, 64, 67, 128, 255, 300})
      for (int64_t ncols : {32, 31, 17, 16, 5, 1})
        for (bool acc : {false, true}) {
          const int64_t Kp = bf16_pad(K), lda = Kp + 4, ldc = 40;
          std::vector<float> A(M * K), W(K * ncols), C(M * ldc);
          for (float& v : A) v = rng.uniform(-1.0f, 1.0f);
          for (float& v : W) v = rng.uniform(-1.0f, 1.0f);
          for (float& v : C) v = rng.uniform(-1.0f, 1.0f);
          std::vector<uint16_t> tight(M * Kp), Ab(M * lda, 0x7FC0);  // NaN past Kp: must never be read
          avx512::convert_rows_bf16(M, K, A.data(), K, tight.data(), Kp);
          for (int64_t i = 0; i < M; ++i) std::memcpy(Ab.data() + i * lda, tight.data() + i * Kp, Kp * sizeof(uint16_t));
          Aligned P(avx512::panel_bf16_elems(K));
          avx512::pack_panel_bf16(K, ncols, W.data(), ncols, 1, P.p);
          const std::vector<float> before = C;
          avx512::panel_gemm_bf16(M, Kp, Ab.data(), lda, P.p, ncols, C.data(), ldc, acc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ldc; ++j) {
              const int64_t e = i * ldc + j;
              if (j >= ncols) {
                ASSERT_EQ(std::bit_cast<uint32_t>(C[e]), std::bit_cast<uint32_t>(before[e]))
                    << "column " << j << " past ncols=" << ncols << " was written";
                continue;
              }
              double ref = acc ? before[e] : 0.0, absum = acc ? std::fabs(before[e]) : 0.0;
              for (int64_t k = 0; k < K; ++k) {
                const double t = static_cast<double>(from_bf16(to_bf16(A[i * K + k]))) * from_bf16(to_bf16(W[k * ncols + j]));
                ref += t;
                absum += std::fabs(t);
              }
              const double bound = (K + 4) * kPanelBf16U * absum + kPanelBf16U * std::fabs(ref);
              ASSERT_NEAR(C[e], ref, bound + 1e-30)
                  << "M=" << M << " K=" << K << " ncols=" << ncols << " acc=" << acc << " at (" << i << ", " << j << ")";
            }
        }
}

// The point of the bf16 path: a product of bf16-rounded operands differs from the fp32 product by
// ~2^-9 relative per operand, far more than fp32 rounding. Guards against a kernel that silently
// reads fp32 or skips the rounding.
TEST(PanelGemmBf16, DiffersFromFp32Product) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  const int64_t M = 4, K = 64;
  Rng rng(8);
  std::vector<float> A(M * K), W(K * 32);
  for (float& v : A) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : W) v = rng.uniform(-1.0f, 1.0f);
  std::vector<uint16_t> Ab(M * K);
  avx512::convert_rows_bf16(M, K, A.data(), K, Ab.data(), K);
  Aligned P(avx512::panel_bf16_elems(K));
  avx512::pack_panel_bf16(K, 32, W.data(), 32, 1, P.p);
  std::vector<float> C(M * 32);
  avx512::panel_gemm_bf16(M, K, Ab.data(), K, P.p, 32, C.data(), 32, false);
  double maxdiff = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < 32; ++j) {
      double exact = 0;
      for (int64_t k = 0; k < K; ++k) exact += static_cast<double>(A[i * K + k]) * W[k * 32 + j];
      maxdiff = std::max(maxdiff, std::fabs(exact - C[i * 32 + j]));
    }
  EXPECT_GT(maxdiff, 1e-4) << "bf16 product indistinguishable from fp32";
  EXPECT_LT(maxdiff, 0.1);
}

}  // namespace
}  // namespace recurrent
