// The recurrent step's bf16 product on ONE thread (x86 only): the AVX512_BF16 panel GEMM (vdpbf16ps,
// src/kernels/avx512/panel_gemm_bf16.cpp) against the AMX one on the same panels (src/kernels/amx/:
// amx_ one panel per call, amx4_ four panels per call as the fused forward's gates), on the shapes of one
// LSTM step. Reports GFLOP/s over CPU time ("FLOPS" counter), which stays meaningful on a shared machine.
// Checks the AMX result against vdpbf16ps first (max difference ≤ 1e-3 relative, else the case fails).
//   C[M, N] = A[M, K] · B[K, N]    M = batch, (K, N) = (H, 4H) forward or (4H, H) backward; N / 32 panels
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <vector>

#if defined(__x86_64__)
#include "kernels/amx/panel_amx.h"
#include "kernels/avx512/panel_bf16.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"
#include "recurrent/kernels/cpu.h"

using namespace recurrent;

namespace {
enum Kernel { kVdp = 0, kAmx = 1, kAmx4 = 2 };

struct Bf16Problem {
  int64_t M, K, Kp, N, elems;
  std::vector<uint16_t> A;  // [M, Kp]
  Tensor panels;            // N / 32 panels of elems bf16 each (64-byte aligned)
  Bf16Problem(int64_t m, int64_t k, int64_t n)
      : M(m), K(k), Kp(avx512::bf16_pad(k)), N(n), elems(avx512::panel_bf16_elems(k)), A(m * Kp),
        panels(Tensor::uninitialized({(n / 32) * elems / 2})) {
    Rng rng(1);
    std::vector<float> a(M * K), w(K * 32);
    for (float& v : a) v = rng.uniform(-1.0f, 1.0f);
    avx512::convert_rows_bf16(M, K, a.data(), K, A.data(), Kp);
    for (int64_t p = 0; p < N / 32; ++p) {
      for (float& v : w) v = rng.uniform(-1.0f, 1.0f);
      avx512::pack_panel_bf16(K, 32, w.data(), 32, 1, P() + p * elems);
    }
  }
  uint16_t* P() { return reinterpret_cast<uint16_t*>(panels.data()); }
  void run(Kernel kind, float* C) {
    if (kind == kAmx4) {
      for (int64_t p = 0; p < N / 32; p += 4)
        amx::panel_gemm_amx_n(4, M, Kp, A.data(), Kp, P() + p * elems, elems, 32, C + p * 32, 32, N, false);
      return;
    }
    for (int64_t p = 0; p < N / 32; ++p) {
      if (kind == kAmx)
        amx::panel_gemm_amx(M, Kp, A.data(), Kp, P() + p * elems, 32, C + p * 32, N, false);
      else
        avx512::panel_gemm_bf16(M, Kp, A.data(), Kp, P() + p * elems, 32, C + p * 32, N, false);
    }
  }
};

void BM_bf16_step(benchmark::State& st, Kernel kind) {
  if (!cpu_has_avx512_bf16() || (kind != kVdp && !cpu_has_amx_bf16()))
    return st.SkipWithError("this CPU lacks AVX512_BF16 or AMX");
  Bf16Problem pr(st.range(0), st.range(1), st.range(2));
  std::vector<float> C(pr.M * pr.N), R(pr.M * pr.N);
  pr.run(kVdp, R.data());
  pr.run(kind, C.data());
  for (size_t i = 0; i < C.size(); ++i)
    if (std::fabs(C[i] - R[i]) > 1e-3f * (1.0f + std::fabs(R[i]))) return st.SkipWithError("AMX result differs");
  for (auto _ : st) {
    pr.run(kind, C.data());
    benchmark::DoNotOptimize(C.data());
  }
  amx::release_tiles();
  st.counters["FLOPS"] = benchmark::Counter(2.0 * pr.M * pr.K * pr.N, benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

int main(int argc, char** argv) {
  const auto shapes = [](benchmark::internal::Benchmark* b) {
    b->Args({64, 512, 2048})->Args({64, 2048, 512})->Args({32, 512, 2048})->Args({64, 256, 1024})->Args({64, 1024, 256});
  };
  shapes(benchmark::RegisterBenchmark("BM_bf16_step/vdpbf16ps", BM_bf16_step, kVdp));
  shapes(benchmark::RegisterBenchmark("BM_bf16_step/amx", BM_bf16_step, kAmx));
  shapes(benchmark::RegisterBenchmark("BM_bf16_step/amx_4_panels", BM_bf16_step, kAmx4));
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
#else
int main() {
  std::puts("bench_panel_gemm_bf16: x86-64 only (AVX512_BF16 and AMX kernels)");
  return 0;
}
#endif
