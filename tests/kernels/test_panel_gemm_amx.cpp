// The AMX bf16 panel GEMM (src/kernels/amx/panel_gemm_amx.cpp), same contract as the AVX512_BF16 one:
//   - against gemm_reference (double accumulation) on the SAME bf16-rounded operands, with the fp32
//     summation bound of test_panel_gemm_bf16.cpp, (K + 4)·u·Σ|a·b| + u·|ref|: M = 1, 5, 16, 17, 32, 33,
//     48, 64 (whole tiles, row-block pairs, rows left to AVX512_BF16), K = 20, 33, 100, 256, 512 (K not a
//     multiple of 32: the k tail), full and partial panels, overwrite and accumulate, lda > Kp with NaN
//     past Kp (never read), columns past ncols and rows past M untouched;
//   - it agrees with the AVX512_BF16 kernel within twice that bound;
//   - n panels in one call (panel_gemm_amx_n) are bitwise n single calls;
//   - the tile configuration is per thread: two threads at once, and again after release_tiles().
// Skipped only on a CPU without AMX (or where Linux refuses the tile state): the kernel is never called.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "kernels/amx/panel_amx.h"
#include "kernels/avx512/panel_bf16.h"
#include "recurrent/core/rng.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/gemm.h"

namespace recurrent {
namespace {

constexpr float kAmxU = std::numeric_limits<float>::epsilon() / 2;
constexpr const char* kNoAmx = "no AMX (amx_tile + amx_bf16) on this CPU, or Linux refused the tile state";

// 64-byte aligned uint16 storage for panels.
struct AmxAligned {
  std::vector<uint16_t> buf;
  uint16_t* p;
  explicit AmxAligned(size_t n) : buf(n + 32) {
    auto a = reinterpret_cast<uintptr_t>(buf.data());
    p = buf.data() + ((64 - a % 64) % 64) / 2;
  }
};

// One product's operands: A [M, K] and W [K, ncols] random, rounded to bf16 (Ab with lda, P a panel),
// and the reference on the rounded values (double accumulation) with its error bound per element.
struct AmxCase {
  int64_t M, K, Kp, ncols, lda, ldc;
  bool acc;
  std::vector<float> C0, ref, bound;
  std::vector<uint16_t> Ab;
  AmxAligned P;
  AmxCase(int64_t m, int64_t k, int64_t nc, bool accumulate, Rng& rng)
      : M(m), K(k), Kp(avx512::bf16_pad(k)), ncols(nc), lda(Kp + 6), ldc(40), acc(accumulate),
        P(avx512::panel_bf16_elems(k)) {
    std::vector<float> A(M * K), W(K * ncols), Ar(M * K), Wr(K * ncols);
    for (float& v : A) v = rng.uniform(-1.0f, 1.0f);
    for (float& v : W) v = rng.uniform(-1.0f, 1.0f);
    C0.resize((M + 2) * ldc);  // two rows past M: must stay untouched
    for (float& v : C0) v = rng.uniform(-1.0f, 1.0f);
    for (size_t i = 0; i < A.size(); ++i) Ar[i] = avx512::round_bf16(A[i]);
    for (size_t i = 0; i < W.size(); ++i) Wr[i] = avx512::round_bf16(W[i]);
    Ab.assign(M * lda, 0x7FC0);  // NaN past Kp
    std::vector<uint16_t> tight(M * Kp);
    avx512::convert_rows_bf16(M, K, A.data(), K, tight.data(), Kp);
    for (int64_t i = 0; i < M; ++i) std::memcpy(Ab.data() + i * lda, tight.data() + i * Kp, Kp * sizeof(uint16_t));
    avx512::pack_panel_bf16(K, ncols, W.data(), ncols, 1, P.p);
    ref = C0;
    gemm_reference(Trans::N, Trans::N, M, ncols, K, 1.0f, Ar.data(), K, Wr.data(), ncols, acc ? 1.0f : 0.0f,
                   ref.data(), ldc);
    bound.assign(ref.size(), 0.0f);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < ncols; ++j) {
        double absum = acc ? std::fabs(C0[i * ldc + j]) : 0.0;
        for (int64_t kk = 0; kk < K; ++kk) absum += std::fabs(static_cast<double>(Ar[i * K + kk]) * Wr[kk * ncols + j]);
        bound[i * ldc + j] = static_cast<float>((K + 4) * kAmxU * absum + 2 * kAmxU * std::fabs(ref[i * ldc + j]));
      }
  }
  std::vector<float> run_amx() const {
    std::vector<float> C = C0;
    amx::panel_gemm_amx(M, Kp, Ab.data(), lda, P.p, ncols, C.data(), ldc, acc);
    return C;
  }
  std::vector<float> run_avx512() const {
    std::vector<float> C = C0;
    avx512::panel_gemm_bf16(M, Kp, Ab.data(), lda, P.p, ncols, C.data(), ldc, acc);
    return C;
  }
  // Every element within `scale` bounds of the reference; untouched ones bitwise.
  void check(const std::vector<float>& C, float scale, const char* what) const {
    for (int64_t i = 0; i < M + 2; ++i)
      for (int64_t j = 0; j < ldc; ++j) {
        const int64_t e = i * ldc + j;
        if (i >= M || j >= ncols) {
          ASSERT_EQ(std::bit_cast<uint32_t>(C[e]), std::bit_cast<uint32_t>(C0[e]))
              << what << ": (" << i << ", " << j << ") outside M=" << M << " ncols=" << ncols << " was written";
          continue;
        }
        ASSERT_NEAR(C[e], ref[e], scale * bound[e] + 1e-30f) << what << ": M=" << M << " K=" << K << " ncols="
                                                             << ncols << " acc=" << acc << " at (" << i << ", " << j << ")";
      }
  }
};

TEST(PanelGemmAmx, MatchesReferenceOnRoundedOperands) {
  if (!cpu_has_amx_bf16()) GTEST_SKIP() << kNoAmx << ": the AMX kernel is never called";
  Rng rng(21);
  for (int64_t M : {1, 5, 16, 17, 32, 33, 48, 64})
    for (int64_t K : {20, 33, 100, 256, 512})
      for (int64_t ncols : {32, 31, 17, 16, 5})
        for (bool acc : {false, true}) {
          const AmxCase c(M, K, ncols, acc, rng);
          ASSERT_NO_FATAL_FAILURE(c.check(c.run_amx(), 1.0f, "amx"));
        }
  amx::release_tiles();
}

TEST(PanelGemmAmx, AgreesWithTheAvx512Bf16Kernel) {
  if (!cpu_has_amx_bf16()) GTEST_SKIP() << kNoAmx << ": the AMX kernel is never called";
  Rng rng(22);
  for (int64_t M : {16, 64})
    for (int64_t K : {64, 96, 512}) {
      const AmxCase c(M, K, 32, true, rng);
      const std::vector<float> a = c.run_amx(), b = c.run_avx512();
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < 32; ++j) {
          const int64_t e = i * c.ldc + j;
          ASSERT_NEAR(a[e], b[e], 2 * c.bound[e] + 1e-30f) << "M=" << M << " K=" << K << " at (" << i << ", " << j << ")";
        }
    }
  amx::release_tiles();
}

// n panels against the same A in one call: bitwise n single calls (rows whole tiles, a row tail, a k tail,
// partial panels, accumulate).
TEST(PanelGemmAmx, SeveralPanelsAreBitwiseSingleCalls) {
  if (!cpu_has_amx_bf16()) GTEST_SKIP() << kNoAmx << ": the AMX kernel is never called";
  Rng rng(24);
  for (int64_t M : {16, 40, 64})
    for (int64_t K : {64, 70})
      for (int64_t ncols : {32, 13})
        for (bool acc : {false, true}) {
          const int64_t n = 4, Kp = avx512::bf16_pad(K), lda = Kp + 2, ldc = n * 40, elems = avx512::panel_bf16_elems(K);
          std::vector<uint16_t> Ab(M * lda);
          std::vector<float> A(M * K), W(K * 32), C0(M * ldc);
          for (float& v : A) v = rng.uniform(-1.0f, 1.0f);
          for (float& v : C0) v = rng.uniform(-1.0f, 1.0f);
          avx512::convert_rows_bf16(M, K, A.data(), K, Ab.data(), lda);
          AmxAligned P(n * elems);
          for (int64_t p = 0; p < n; ++p) {
            for (float& v : W) v = rng.uniform(-1.0f, 1.0f);
            avx512::pack_panel_bf16(K, ncols, W.data(), 32, 1, P.p + p * elems);
          }
          std::vector<float> one = C0, all = C0;
          for (int64_t p = 0; p < n; ++p)
            amx::panel_gemm_amx(M, Kp, Ab.data(), lda, P.p + p * elems, ncols, one.data() + p * 40, ldc, acc);
          amx::panel_gemm_amx_n(n, M, Kp, Ab.data(), lda, P.p, elems, ncols, all.data(), 40, ldc, acc);
          for (size_t e = 0; e < one.size(); ++e)
            ASSERT_EQ(std::bit_cast<uint32_t>(one[e]), std::bit_cast<uint32_t>(all[e]))
                << "M=" << M << " K=" << K << " ncols=" << ncols << " acc=" << acc << " at " << e;
        }
  amx::release_tiles();
}

// Tile state is per thread: each thread configures its own on first use; after a release the next call
// configures again.
TEST(PanelGemmAmx, TileConfigurationIsPerThread) {
  if (!cpu_has_amx_bf16()) GTEST_SKIP() << kNoAmx << ": the AMX kernel is never called";
  Rng rng(23);
  const AmxCase a(64, 256, 32, false, rng), b(32, 512, 20, true, rng);
  std::vector<float> ca, cb;
  std::thread ta([&] {
    for (int i = 0; i < 50; ++i) ca = a.run_amx();
    amx::release_tiles();
  });
  std::thread tb([&] {
    for (int i = 0; i < 50; ++i) cb = b.run_amx();
    amx::release_tiles();
  });
  ta.join();
  tb.join();
  ASSERT_NO_FATAL_FAILURE(a.check(ca, 1.0f, "thread a"));
  ASSERT_NO_FATAL_FAILURE(b.check(cb, 1.0f, "thread b"));
  ASSERT_NO_FATAL_FAILURE(a.check(a.run_amx(), 1.0f, "first call"));
  amx::release_tiles();
  ASSERT_NO_FATAL_FAILURE(a.check(a.run_amx(), 1.0f, "after release"));
  amx::release_tiles();
}

}  // namespace
}  // namespace recurrent
