// Throughput of our recurrent layers (public API, fast engine) on the anchors' configurations.
//
//   cells {rnn_tanh, lstm, gru, mingru, minlstm, rglru} × H {128, 256, 512} × B {1, 16, 64} × {infer, train} × threads {1, 2},
//   T = 100, one layer, input = hidden = H
//   infer = forward without tape; train = forward + BPTT with every weight gradient (loss = sum of
//   outputs), as src/cli/bench_workload.h defines (shared with `recurrent bench`).
// Counters: tokens/s (B·T per call) and FLOPS (GFLOP/s; forward = 2·G·H·(I + H) per token, training
// = 3× forward; the anchors' FLOP model). Before timing, each case checks the fast engine against the
// step-by-step reference engine on the same weights over the first 2 steps (output, and in training
// the gradient of weight_hh_l0, weight_ih_l0 for the scan cells) and fails the case on a mismatch.
//
//   build/bench/bench_rnn --benchmark_filter='lstm/H:256/B:64/train/threads:2' --benchmark_repetitions=5
// For the side-by-side table with oneDNN and PyTorch use scripts/bench/compare_anchors.py.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "cli/bench_workload.h"
#include "recurrent/core/threads.h"

namespace {
using namespace recurrent;

struct Case {
  bench::RnnWorkload w;
  int threads;
};

// Largest |a - b| relative to the largest |b| (the reference): one figure per tensor.
double rel_diff(const Tensor& a, const Tensor& b) {
  Tensor ac = a.contiguous(), bc = b.contiguous();
  double worst = 0, scale = 1e-30;
  for (int64_t i = 0; i < ac.numel(); ++i) {
    worst = std::max(worst, std::fabs(double(ac.data()[i]) - double(bc.data()[i])));
    scale = std::max(scale, std::fabs(double(bc.data()[i])));
  }
  return worst / scale;
}

// Fast engine vs reference engine, same seed (same weights and input), T = 2.
bool check(const bench::RnnWorkload& full, std::string& msg) {
  bench::RnnWorkload w = full;
  w.seq_len = 2;
  Tensor y[2], g[2];
  for (int e = 0; e < 2; ++e) {
    set_rnn_engine(e == 0 ? RnnEngine::reference : RnnEngine::fast);
    bench::RnnRunner r(w);
    r.call();
    y[e] = r.last_output().clone();
    if (w.train) g[e] = r.rnn().parameter(is_scan_cell(w.cell) ? "weight_ih_l0" : "weight_hh_l0").grad().clone();
  }
  set_rnn_engine(RnnEngine::fast);
  const double tol = 1e-4;  // fp32 fast path against the double-precision reference, relative to max
  const double dy = rel_diff(y[1], y[0]), dg = w.train ? rel_diff(g[1], g[0]) : 0.0;
  if (dy <= tol && dg <= tol) return true;
  msg = "fast engine differs from the reference: output " + std::to_string(dy) + ", weight_hh_l0.grad " +
        std::to_string(dg) + " (relative to max, tolerance 1e-4)";
  return false;
}

void run_case(benchmark::State& state, Case c) {
  set_num_threads(c.threads);
  std::string msg;
  if (!check(c.w, msg)) {
    state.SkipWithError(msg.c_str());
    return;
  }
  bench::RnnRunner runner(c.w);
  runner.call();  // warm-up: first-touch of buffers, primitive creation
  for (auto _ : state) {
    runner.call();
    benchmark::DoNotOptimize(runner.last_output().data());
    benchmark::ClobberMemory();
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(c.w.tokens()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["FLOPS"] =  // printed as e.g. 120G/s = 120 GFLOP/s
      benchmark::Counter(c.w.flops_per_call(), benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (int threads : {1, 2})
    for (CellType cell : {CellType::rnn_tanh, CellType::lstm, CellType::gru, CellType::mingru, CellType::minlstm,
                          CellType::rglru})
      for (int64_t H : {128, 256, 512})
        for (int64_t B : {1, 16, 64})
          for (bool train : {false, true}) {
            Case c{{}, threads};
            c.w.cell = cell;
            c.w.hidden = H;
            c.w.batch = B;
            c.w.seq_len = 100;
            c.w.train = train;
            char name[128];
            std::snprintf(name, sizeof name, "rnn/%s/H:%ld/B:%ld/%s/threads:%d", cell_name(cell), long(H), long(B),
                          train ? "train" : "infer", threads);
            benchmark::RegisterBenchmark(name, run_case, c)->UseRealTime()->Unit(benchmark::kMillisecond);
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
