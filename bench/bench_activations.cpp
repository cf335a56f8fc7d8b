// Throughput of the array sigmoid / tanh (include/recurrent/kernels/activations.h), generic and
// AVX-512 paths, in elements per nanosecond (items_per_second, printed as G/s), on an L1-resident
// array (4096 floats) and a memory-streaming one (4 Mi floats, 16 MiB), single thread, out of place.
//
// Before timing, every path is checked against double precision on every 4096th float bit pattern
// with the bounds stated in the header (the run aborts on a violation). With --exhaustive, all 2^32
// bit patterns are checked instead (2 threads, a few minutes), and the worst errors printed.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "recurrent/core/rng.h"
#include "kernels/simd/rnn_kernels.h"
#include "recurrent/kernels/activations.h"
#include "recurrent/kernels/target.h"
#include "recurrent/kernels/cpu.h"

namespace {
using namespace recurrent;
using ArrayFn = void (*)(const float*, float*, int64_t);

struct Path {
  std::string name;
  ArrayFn fn;
  double (*ref)(double);
  bool is_tanh;
  bool simd;  // a SIMD target's kernel (not the generic scalar loop)
};

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double tanh_ref(double x) { return std::tanh(x); }

// Stated bounds (activations.h): abs ≤ 1e-7; rel ≤ 2e-7 (tanh where |tanh| ≥ FLT_MIN, sigmoid where ≥ 1e-37).
struct Errors {
  double abs = 0, rel = 0;
  uint32_t abs_bits = 0, rel_bits = 0;
};

Errors scan(const Path& p, uint64_t first, uint64_t last, uint64_t step) {
  constexpr int64_t kChunk = 4096;
  std::vector<float> x(kChunk), y(kChunk);
  Errors e;
  const double floor = p.is_tanh ? 1.1754943508222875e-38 : 1e-37;
  for (uint64_t b = first; b < last;) {
    int64_t n = 0;
    for (; n < kChunk && b < last; b += step) {
      const uint32_t bits = static_cast<uint32_t>(b);
      std::memcpy(&x[n], &bits, 4);
      if (!std::isnan(x[n])) ++n;
    }
    p.fn(x.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double r = p.ref(x[i]), d = std::fabs(y[i] - r);
      uint32_t bits;
      std::memcpy(&bits, &x[i], 4);
      if (!(d <= e.abs)) e.abs = d, e.abs_bits = bits;
      if (std::fabs(r) >= floor && !(d / std::fabs(r) <= e.rel)) e.rel = d / std::fabs(r), e.rel_bits = bits;
    }
  }
  return e;
}

bool check(const Path& p, bool exhaustive) {
  const uint64_t end = uint64_t{1} << 32, step = exhaustive ? 1 : 4096;
  Errors a, b;
  std::thread t([&] { b = scan(p, end / 2, end, step); });  // two halves on two threads
  a = scan(p, 0, end / 2, step);
  t.join();
  if (b.abs > a.abs) a.abs = b.abs, a.abs_bits = b.abs_bits;
  if (b.rel > a.rel) a.rel = b.rel, a.rel_bits = b.rel_bits;
  float xa, xr;
  std::memcpy(&xa, &a.abs_bits, 4);
  std::memcpy(&xr, &a.rel_bits, 4);
  std::printf("check %-16s %s: max abs error %.3g at x=%.9g, max rel error %.3g at x=%.9g\n", p.name.c_str(),
              exhaustive ? "all 2^32 inputs" : "every 4096th input", a.abs, xa, a.rel, xr);
  return a.abs <= 1e-7 && a.rel <= 2e-7;
}

void run(benchmark::State& state, Path p) {
  const int64_t n = state.range(0);
  Rng rng(3);
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  for (float& v : x) v = rng.uniform(-8.0f, 8.0f);
  for (auto _ : state) {
    p.fn(x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);  // items_per_second in G/s = elements per ns
}

}  // namespace

int main(int argc, char** argv) {
  bool exhaustive = false;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--exhaustive") {
      exhaustive = true;
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      break;
    }
  std::vector<Path> paths = {{"sigmoid/generic", sigmoid_vec_generic, sigmoid_ref, false, false},
                             {"tanh/generic", tanh_vec_generic, tanh_ref, true, false}};
  for (int64_t t : simd::cpu_targets()) {  // every SIMD target this CPU runs (src/kernels/simd/math-inl.h)
    const simd::RnnKernels& k = simd::rnn_kernels(t);
    paths.push_back({"sigmoid/" + simd::target_name(t), k.sigmoid_array, sigmoid_ref, false, true});
    paths.push_back({"tanh/" + simd::target_name(t), k.tanh_array, tanh_ref, true, true});
  }
  bool ok = true;
  for (const Path& p : paths) ok = check(p, exhaustive) && ok;
  if (!ok) {
    std::fprintf(stderr, "error bound violated: not timing\n");
    return 1;
  }
  for (const Path& p : paths)
    benchmark::RegisterBenchmark(p.name.c_str(), run, p)->Arg(4096)->Arg(int64_t{1} << 22);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
