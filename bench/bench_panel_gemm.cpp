// The recurrent step's product on ONE thread: the AVX-512 panel GEMM (src/kernels/avx512/
// panel_gemm512.cpp, used by the fused RNN loops) against oneDNN's matmul on pre-packed weights
// (gemm_packed), on the shapes of one LSTM/GRU step. Reports GFLOP/s over CPU time ("CPU" column
// and the FLOPS counter), which stays meaningful on a shared machine. Checks the panel result
// against gemm_packed first (max relative error ≤ 1e-4, else the case fails).
//   C[M, N] = A[M, K] · B[K, N]    M = batch, (K, N) = (H, 4H) forward or (4H, H) backward
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "kernels/avx512/cells.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/gemm.h"

using namespace recurrent;

namespace {
struct Problem {
  int64_t M, K, N;
  std::vector<float> A, B;  // A [M, K], B [K, N]
  Tensor panels;            // [⌈N/32⌉, K, 32]
  Problem(int64_t m, int64_t k, int64_t n) : M(m), K(k), N(n), A(m * k), B(k * n) {
    Rng r(7);
    for (float& v : A) v = r.uniform(-1.0f, 1.0f);
    for (float& v : B) v = r.uniform(-1.0f, 1.0f);
    const int64_t np = (N + 31) / 32;
    panels = Tensor({np, K, 32});
    for (int64_t p = 0; p < np; ++p)
      for (int64_t kk = 0; kk < K; ++kk)
        for (int64_t c = 0; c < 32 && p * 32 + c < N; ++c) panels.data()[(p * K + kk) * 32 + c] = B[kk * N + p * 32 + c];
  }
  void run_panels(float* C) const {
    for (int64_t p = 0; p * 32 < N; ++p)
      avx512::panel_gemm(M, K, A.data(), K, panels.data() + p * K * 32, std::min<int64_t>(32, N - p * 32), C + p * 32,
                         N, false);
  }
};

void BM_step(benchmark::State& st, bool panel) {
  set_num_threads(1);
  if (active_isa() != Isa::avx512) return st.SkipWithError("no AVX-512");
  Problem pr(st.range(0), st.range(1), st.range(2));
  PackedMatrix pk = pack_b(pr.B.data(), pr.K, pr.N, Trans::N);
  std::vector<float> C(pr.M * pr.N), R(pr.M * pr.N);
  gemm_packed(pr.M, pr.A.data(), pr.K, pk, 0.0f, R.data(), pr.N);
  pr.run_panels(C.data());
  for (size_t i = 0; i < C.size(); ++i)
    if (std::fabs(C[i] - R[i]) > 1e-4f * (1.0f + std::fabs(R[i]))) return st.SkipWithError("panel result differs");
  for (auto _ : st) {
    if (panel)
      pr.run_panels(C.data());
    else
      gemm_packed(pr.M, pr.A.data(), pr.K, pk, 0.0f, C.data(), pr.N);
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["FLOPS"] = benchmark::Counter(2.0 * pr.M * pr.K * pr.N, benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

#define SHAPES Args({64, 256, 1024})->Args({64, 1024, 256})->Args({64, 512, 2048})->Args({64, 2048, 512})->Args({1, 256, 1024})->Args({1, 512, 2048})
BENCHMARK_CAPTURE(BM_step, panel, true)->SHAPES;
BENCHMARK_CAPTURE(BM_step, onednn_packed, false)->SHAPES;
BENCHMARK_MAIN();
