// CTC loss + gradient (include/recurrent/autograd/ctc.h) at the speech-recognition size of issue 22:
// T = 100 frames, B = 32 utterances, C = 11 / 20 / 30 classes (blank + labels), L = 7 labels each,
// reduction mean, on 1 and 2 threads. One iteration = forward (α, β and the gradient) + backward into
// the input's gradient:
//   logits    ctc_loss_logits(logits)           — log_softmax fused, gradient w.r.t. the logits
//   log_probs ctc_loss(log_softmax(logits))     — PyTorch's composition, two ops
// bench/ctc_vs_torch.py runs this binary and torch.nn.functional.ctc_loss on the same shapes.
//
// Before timing, each configuration is checked (the run aborts otherwise): every loss is finite, the
// two entry points agree (1e-5 relative), and each frame's gradient w.r.t. the logits sums to 0
// (softmax − γ with Σ_c γ_t(c) = 1; |Σ| ≤ 1e-5 per frame).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "recurrent/autograd/ctc.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"

namespace {
using namespace recurrent;

constexpr int64_t kT = 100, kB = 32, kL = 7;

struct Problem {
  Tensor logits;
  std::vector<int64_t> targets, in_len, tgt_len;
};

Problem make_problem(int64_t C) {
  Problem p;
  Rng rng(static_cast<uint64_t>(C));
  p.logits = Tensor({kT, kB, C});
  rng.fill_uniform(p.logits, -3.0f, 3.0f);
  for (int64_t b = 0; b < kB; ++b) {
    p.in_len.push_back(kT - (b % 5) * 5);  // 80 … 100 frames
    p.tgt_len.push_back(kL);
    for (int64_t k = 0; k < kL; ++k) p.targets.push_back(1 + static_cast<int64_t>(rng.uniform(0.0f, 0.9999f) * (C - 1)));
  }
  return p;
}

void fail(const char* what, int64_t C) {
  std::fprintf(stderr, "bench_ctc: check failed for C = %lld: %s\n", static_cast<long long>(C), what);
  std::exit(1);
}

void check(int64_t C) {
  Problem p = make_problem(C);
  Var x(p.logits, true), y(p.logits, true);
  CtcOptions none;
  none.reduction = Reduction::none;
  Tensor l1 = ctc_loss_logits(x, p.targets, p.in_len, p.tgt_len, none).value();
  Tensor l2 = ctc_loss(log_softmax(y), p.targets, p.in_len, p.tgt_len, none).value();
  for (int64_t b = 0; b < kB; ++b) {
    if (!std::isfinite(l1.data()[b])) fail("a loss is not finite", C);
    if (std::fabs(l1.data()[b] - l2.data()[b]) > 1e-5 * std::fabs(l2.data()[b])) fail("entry points differ", C);
  }
  ctc_loss_logits(x, p.targets, p.in_len, p.tgt_len).backward();
  for (int64_t r = 0; r < kT * kB; ++r) {
    double s = 0.0;
    for (int64_t c = 0; c < C; ++c) s += x.grad().data()[r * C + c];
    if (std::fabs(s) > 1e-5) fail("a frame's gradient does not sum to 0", C);
  }
}

void BM_Ctc(benchmark::State& state) {
  const int64_t C = state.range(0);
  const bool fused = state.range(1) == 1;
  const int threads = static_cast<int>(state.range(2));
  static int checked = 0;
  if (!checked++) {
    for (int64_t c : {11, 20, 30}) check(c);
  }
  set_num_threads(threads);
  Problem p = make_problem(C);
  Var x(p.logits, true);
  for (auto _ : state) {
    x.zero_grad();
    Var loss = fused ? ctc_loss_logits(x, p.targets, p.in_len, p.tgt_len)
                     : ctc_loss(log_softmax(x), p.targets, p.in_len, p.tgt_len);
    loss.backward();
    benchmark::DoNotOptimize(x.grad().data());
  }
  state.SetLabel(fused ? "logits" : "log_probs");
  state.counters["threads"] = threads;
  state.SetItemsProcessed(state.iterations() * kB);  // utterances
}

BENCHMARK(BM_Ctc)
    ->ArgNames({"C", "fused", "threads"})
    ->ArgsProduct({{11, 20, 30}, {1, 0}, {1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
