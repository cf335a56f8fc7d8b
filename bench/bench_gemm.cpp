// GEMM throughput of each backend on the shapes a recurrent library runs, on 1 and 2 threads.
//
//   C[M, N] = A[M, K] · op(B)[K, N]      op(B) = B (N) or Bᵀ (T: B stored [N, K], like x·Wᵀ)
//   2048×2048×2048                 square reference point
//   64×512×2048, 64×256×1024       one LSTM step h·W_hhᵀ (batch 64, H = 512 / 256, 4 gates)
//   6400×512×2048                  input projection of 100 steps × batch 64 at once
//   1×256×1024, 1×512×2048         batch-1 inference step
// Backends: onednn (the default automatic choice), onednn_sgemm, onednn_matmul, packed (pack_b
// once outside the timing, then gemm_packed), reference (single-threaded, so only its threads:1 case
// is registered; it runs at ~1 GFLOP/s, so the big shapes are timed over one call, 10–20 s each).
// Each case first checks 97 sampled elements of C against a double dot product (bound as in
// tests/kernels/test_gemm.cpp) and fails that case on a mismatch; then it times. Counter FLOPS =
// 2·M·N·K per call over wall time. Run with --benchmark_repetitions=5 for medians.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/gemm.h"

namespace {
using namespace recurrent;

enum class Mode { onednn, sgemm, matmul, packed, reference };
const char* mode_name(Mode m) {
  switch (m) {
    case Mode::onednn: return "onednn";
    case Mode::sgemm: return "onednn_sgemm";
    case Mode::matmul: return "onednn_matmul";
    case Mode::packed: return "packed";
    case Mode::reference: return "reference";
  }
  return "?";
}

struct Case {
  int64_t M, K, N;
  Trans tb;
  Mode mode;
  int threads;
};

struct Operands {
  std::vector<float> A, B, C;  // A: [M, K]; B: [K, N] (N) or [N, K] (T); C: [M, N]
  int64_t ldb;
};

Operands make_operands(const Case& c) {
  Rng rng(1234);
  Operands o;
  o.A.resize(static_cast<size_t>(c.M * c.K));
  o.B.resize(static_cast<size_t>(c.K * c.N));
  o.C.assign(static_cast<size_t>(c.M * c.N), std::numeric_limits<float>::quiet_NaN());
  for (float& x : o.A) x = rng.uniform(-1.0f, 1.0f);
  for (float& x : o.B) x = rng.uniform(-1.0f, 1.0f);
  o.ldb = c.tb == Trans::N ? c.N : c.K;
  return o;
}

// Sampled check of C = A·op(B) (beta = 0, so the NaN-filled C must be fully overwritten).
bool check(const Case& c, const Operands& o, std::string& msg) {
  Rng rng(77);
  const double u = std::numeric_limits<float>::epsilon() / 2;
  for (int s = 0; s < 97; ++s) {
    const int64_t i = static_cast<int64_t>(rng.below(c.M)), j = static_cast<int64_t>(rng.below(c.N));
    double acc = 0.0, abs_sum = 0.0;
    for (int64_t k = 0; k < c.K; ++k) {
      double b = c.tb == Trans::N ? o.B[k * o.ldb + j] : o.B[j * o.ldb + k];
      acc += o.A[i * c.K + k] * b;
      abs_sum += std::fabs(o.A[i * c.K + k] * b);
    }
    const double got = o.C[i * c.N + j];
    if (!(std::fabs(got - acc) <= (c.K + 4) * u * abs_sum + u * std::fabs(acc))) {
      msg = "C(" + std::to_string(i) + ", " + std::to_string(j) + ") = " + std::to_string(got) + ", expected " +
            std::to_string(acc);
      return false;
    }
  }
  return true;
}

void run_case(benchmark::State& state, Case c) {
  set_num_threads(c.threads);
  Operands o = make_operands(c);
  PackedMatrix packed;
  if (c.mode == Mode::packed) packed = pack_b(o.B.data(), c.K, c.N, c.tb, o.ldb);
  const GemmBackend backend = c.mode == Mode::sgemm       ? GemmBackend::onednn_sgemm
                              : c.mode == Mode::matmul    ? GemmBackend::onednn_matmul
                              : c.mode == Mode::reference ? GemmBackend::reference
                                                          : GemmBackend::onednn;
  set_gemm_backend(backend);
  auto call = [&] {
    if (c.mode == Mode::packed)
      gemm_packed(c.M, o.A.data(), c.K, packed, 0.0f, o.C.data(), c.N);
    else
      gemm(Trans::N, c.tb, c.M, c.N, c.K, 1.0f, o.A.data(), c.K, o.B.data(), o.ldb, 0.0f, o.C.data(), c.N);
  };
  call();  // also creates and caches the primitive
  std::string msg;
  if (!check(c, o, msg)) {
    state.SkipWithError(("wrong result: " + msg).c_str());
    set_gemm_backend(GemmBackend::onednn);
    return;
  }
  for (auto _ : state) {
    call();
    benchmark::DoNotOptimize(o.C.data());
    benchmark::ClobberMemory();
  }
  set_gemm_backend(GemmBackend::onednn);
  state.counters["FLOPS"] =  // printed as e.g. 460G/s = 460 GFLOP/s
      benchmark::Counter(2.0 * c.M * c.N * c.K, benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  struct Shape {
    int64_t M, K, N;
  };
  const Shape shapes[] = {{2048, 2048, 2048}, {64, 512, 2048}, {6400, 512, 2048},
                          {64, 256, 1024},    {1, 256, 1024},  {1, 512, 2048}};
  for (int threads : {1, 2})
    for (const Shape& s : shapes)
      for (Trans tb : {Trans::N, Trans::T})
        for (Mode m : {Mode::onednn, Mode::sgemm, Mode::matmul, Mode::packed, Mode::reference}) {
          const bool big = s.M * s.K * s.N > int64_t{64} * 512 * 2048;
          if (m == Mode::reference && threads == 2) continue;  // single-threaded: 2 threads = 1 thread
          char name[128];
          std::snprintf(name, sizeof name, "gemm/%s/M%ld_K%ld_N%ld/B%c/threads:%d", mode_name(m), long(s.M),
                        long(s.K), long(s.N), tb == Trans::N ? 'N' : 'T', threads);
          auto* b = benchmark::RegisterBenchmark(name, run_case, Case{s.M, s.K, s.N, tb, m, threads});
          b->UseRealTime()->Unit(benchmark::kMicrosecond);
          if (m == Mode::reference) b->Iterations(big ? 1 : 2);
        }
}
}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
