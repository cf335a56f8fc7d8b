// The output layer of a word-level language model, piece by piece: where a training step of
// Zaremba et al.'s "small" model (bench/lm/compare_pytorch.py brown) spends its time.
//
//   R = T·B = 400 rows (seq 20 × batch 20), I = 200 (last LSTM size), V = 10,000 words
//   forward   logits[R, V] = y[R, I] · W[V, I]ᵀ + b          gemm N,T  400×10000×200
//   backward  ∂y[R, I]  = G[R, V] · W[V, I]                  gemm N,N  400×200×10000
//             ∂W[V, I] += G[R, V]ᵀ · y[R, I]                 gemm T,N  10000×200×400 (beta 1)
//   loss      cross_entropy(logits, targets): softmax rows, loss, ∂logits
// Cases: each GEMM shape through each backend (counter FLOPS = 2·M·N·K per call), the
// cross-entropy forward+backward on the tape, and the whole layer (linear + loss + backward).
// Threads: 1 and 2. Each GEMM case first checks a few elements against a double dot product.
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <vector>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/gemm.h"

namespace {
using namespace recurrent;

constexpr int64_t kR = 400, kI = 200, kV = 10000;

std::vector<float> random_vec(int64_t n, uint64_t seed, float a) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = rng.uniform(-a, a);
  return v;
}

struct GemmCase {
  const char* name;
  Trans ta, tb;
  int64_t M, N, K;
  float beta;
};

// Operand layouts as the linear op passes them (row-major, minimal leading dims).
void run_gemm(benchmark::State& state, GemmCase c, GemmBackend backend, int threads) {
  set_num_threads(threads);
  set_gemm_backend(backend);
  const int64_t lda = c.ta == Trans::N ? c.K : c.M, ldb = c.tb == Trans::N ? c.N : c.K;
  std::vector<float> A = random_vec(c.M * c.K, 1, 1.0f), B = random_vec(c.K * c.N, 2, 1.0f), C(c.M * c.N, 0.0f);
  gemm(c.ta, c.tb, c.M, c.N, c.K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), c.N);
  for (int s = 0; s < 13; ++s) {  // sampled check against a double dot product
    const int64_t i = (s * 7919) % c.M, j = (s * 104729) % c.N;
    double acc = 0.0, mag = 0.0;
    for (int64_t k = 0; k < c.K; ++k) {
      const double a = c.ta == Trans::N ? A[i * lda + k] : A[k * lda + i];
      const double b = c.tb == Trans::N ? B[k * ldb + j] : B[j * ldb + k];
      acc += a * b, mag += std::fabs(a * b);
    }
    if (std::fabs(C[i * c.N + j] - acc) > 1e-5 * mag + 1e-6) {
      state.SkipWithError("wrong GEMM result");
      set_gemm_backend(GemmBackend::onednn);
      return;
    }
  }
  for (auto _ : state)
    gemm(c.ta, c.tb, c.M, c.N, c.K, 1.0f, A.data(), lda, B.data(), ldb, c.beta, C.data(), c.N);
  set_gemm_backend(GemmBackend::onednn);
  state.counters["FLOPS"] = benchmark::Counter(2.0 * c.M * c.N * c.K, benchmark::Counter::kIsIterationInvariantRate);
}

std::vector<int64_t> random_targets(uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> t(kR);
  for (int64_t& x : t) x = static_cast<int64_t>(rng.below(kV));
  return t;
}

void BM_cross_entropy(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor x = Tensor::from(random_vec(kR * kV, 3, 3.0f), {kR, kV});
  const std::vector<int64_t> t = random_targets(4);
  for (auto _ : state) {
    Var logits(x, true);
    Var loss = cross_entropy(logits, t);
    loss.backward();
    benchmark::DoNotOptimize(logits.grad().data());
  }
}

void BM_output_layer(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Var w(Tensor::from(random_vec(kV * kI, 5, 0.1f), {kV, kI}), true);
  Var b(Tensor::from(random_vec(kV, 6, 0.1f), {kV}), true);
  Tensor y = Tensor::from(random_vec(kR * kI, 7, 1.0f), {20, 20, kI});
  const std::vector<int64_t> t = random_targets(8);
  for (auto _ : state) {
    Var yv(y, true);
    Var loss = cross_entropy(linear(yv, w, b), t);
    loss.backward();
    benchmark::DoNotOptimize(yv.grad().data());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(kR), benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  const GemmCase cases[] = {{"fwd_NT_400x10000x200", Trans::N, Trans::T, kR, kV, kI, 0.0f},
                            {"dx_NN_400x200x10000", Trans::N, Trans::N, kR, kI, kV, 1.0f},
                            {"dW_TN_10000x200x400", Trans::T, Trans::N, kV, kI, kR, 1.0f}};
  const GemmBackend backends[] = {GemmBackend::onednn, GemmBackend::onednn_sgemm, GemmBackend::onednn_matmul};
  for (const GemmCase& c : cases)
    for (GemmBackend be : backends)
      for (int th : {1, 2}) {
        const std::string name = std::string("gemm/") + c.name + "/" + gemm_backend_name(be) + "/threads:" + std::to_string(th);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { run_gemm(s, c, be, th); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
  benchmark::RegisterBenchmark("cross_entropy_fwd_bwd", BM_cross_entropy)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("output_layer_step", BM_output_layer)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
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
