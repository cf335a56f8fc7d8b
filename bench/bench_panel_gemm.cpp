// The recurrent step's product on ONE thread: the panel GEMM of every SIMD target this CPU runs
// (src/kernels/simd/panel-inl.h, used by the fused RNN loops; panel_ one panel at a time, pair_ two: the
// wide register block of panel_gemm_pair) against oneDNN's matmul on pre-packed weights
// (gemm_packed), on the shapes of one LSTM/GRU step. Reports GFLOP/s over CPU time ("CPU" column
// and the FLOPS counter), which stays meaningful on a shared machine. Checks the panel result
// against gemm_packed first (max relative error ≤ 1e-4, else the case fails).
//   C[M, N] = A[M, K] · B[K, N]    M = batch, (K, N) = (H, 4H) forward or (4H, H) backward
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "kernels/simd/rnn_kernels.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/gemm.h"
#include "recurrent/kernels/target.h"

using namespace recurrent;

namespace {
struct Problem {
  int64_t M, K, N;
  std::vector<float> A, B;  // A [M, K], B [K, N]
  const simd::RnnKernels& k;
  Tensor panels;            // [⌈N/P⌉, K, P], P = the target's panel width
  Problem(int64_t m, int64_t kk_, int64_t n, int64_t target)
      : M(m), K(kk_), N(n), A(m * kk_), B(kk_ * n), k(simd::rnn_kernels(target)) {
    Rng r(7);
    for (float& v : A) v = r.uniform(-1.0f, 1.0f);
    for (float& v : B) v = r.uniform(-1.0f, 1.0f);
    const int64_t P = k.panel, np = (N + P - 1) / P;
    panels = Tensor({np, K, P});
    for (int64_t p = 0; p < np; ++p)
      for (int64_t kk = 0; kk < K; ++kk)
        for (int64_t c = 0; c < P && p * P + c < N; ++c) panels.data()[(p * K + kk) * P + c] = B[kk * N + p * P + c];
  }
  void run_panels(float* C) const {
    const int64_t P = k.panel;
    for (int64_t p = 0; p * P < N; ++p)
      k.panel_gemm(M, K, A.data(), K, panels.data() + p * K * P, std::min<int64_t>(P, N - p * P), C + p * P, N, false);
  }
  // Two panels at a time (panel_gemm_pair: the fused loops' gates g, g + 1), an odd last one alone.
  void run_pairs(float* C) const {
    const int64_t P = k.panel;
    int64_t p = 0;
    for (; (p + 2) * P <= N; p += 2)
      k.panel_gemm_pair(M, K, A.data(), K, 0, A.data(), K, panels.data() + p * K * P, P, C + p * P, C + (p + 1) * P, N,
                        false, nullptr, nullptr);
    for (; p * P < N; ++p)
      k.panel_gemm(M, K, A.data(), K, panels.data() + p * K * P, std::min<int64_t>(P, N - p * P), C + p * P, N, false);
  }
};

// target 0: oneDNN's packed matmul; else that target's panel GEMM (pairs: panel_gemm_pair, two panels at a time).
void BM_step(benchmark::State& st, int64_t target, bool pairs) {
  set_num_threads(1);
  const bool panel = target != 0;
  Problem pr(st.range(0), st.range(1), st.range(2), panel ? target : simd::best_target());
  PackedMatrix pk = pack_b(pr.B.data(), pr.K, pr.N, Trans::N);
  std::vector<float> C(pr.M * pr.N), R(pr.M * pr.N);
  gemm_packed(pr.M, pr.A.data(), pr.K, pk, 0.0f, R.data(), pr.N);
  if (pairs) {
    pr.run_pairs(C.data());
  } else {
    pr.run_panels(C.data());
  }
  for (size_t i = 0; i < C.size(); ++i)
    if (std::fabs(C[i] - R[i]) > 1e-4f * (1.0f + std::fabs(R[i]))) return st.SkipWithError("panel result differs");
  for (auto _ : st) {
    if (panel && pairs)
      pr.run_pairs(C.data());
    else if (panel)
      pr.run_panels(C.data());
    else
      gemm_packed(pr.M, pr.A.data(), pr.K, pk, 0.0f, C.data(), pr.N);
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["FLOPS"] = benchmark::Counter(2.0 * pr.M * pr.K * pr.N, benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

int main(int argc, char** argv) {
  const auto shapes = [](benchmark::internal::Benchmark* b) {
    b->Args({64, 256, 1024})->Args({64, 1024, 256})->Args({64, 512, 2048})->Args({64, 2048, 512});
    b->Args({16, 512, 512})->Args({32, 512, 512});  // one thread's share of a folded H = 256 step (K = I + H)
    b->Args({1, 256, 1024})->Args({1, 512, 2048});
  };
  for (int64_t t : simd::cpu_targets()) {
    shapes(benchmark::RegisterBenchmark(("BM_step/panel_" + simd::target_name(t)).c_str(), BM_step, t, false));
    shapes(benchmark::RegisterBenchmark(("BM_step/pair_" + simd::target_name(t)).c_str(), BM_step, t, true));
  }
  shapes(benchmark::RegisterBenchmark("BM_step/onednn_packed", BM_step, int64_t{0}, false));
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
