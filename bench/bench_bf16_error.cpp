// Accuracy cost of precision bf16 (docs/engine.md "bf16"): one recurrent stack, the same weights and
// input, run in fp32, in bf16 and in the double-precision reference engine; prints, per tensor, the
// error of bf16 against fp32 and of both against the reference (max abs, max abs / max |ref|, mean
// abs). Weights PyTorch's default U(±1/√H), input U(-1, 1); train adds BPTT of sum(output ⊙ seed)
// with seed U(-1, 1) and compares dx and every weight gradient.
//
//   bench_bf16_error CELL H B T [infer|train] [threads] [layers] [seed]
//   e.g. bench_bf16_error lstm 256 16 100 infer 1
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/nn/rnn.h"

using namespace recurrent;

namespace {

struct Result {
  std::vector<std::string> names;
  std::vector<Tensor> values;
};

Result run(CellType cell, int64_t H, int64_t B, int64_t T, int64_t L, bool train, uint64_t seed, Precision p,
           RnnEngine e) {
  set_rnn_engine(e);
  Rng rng(seed);
  RNNOptions o = RNNOptions::uniform(cell, H, H, L);
  o.precision = p;
  RNN rnn(o, rng);
  rnn.train(train);
  Tensor xv({T, B, H});
  rng.fill_uniform(xv, -1.0f, 1.0f);
  Var x(xv, train);
  Result r;
  if (!train) {
    NoGradGuard ng;
    RNNOutput out = rnn.forward(x);
    r.names = {"y", "h_n"};
    r.values = {out.output.value(), out.final_state.h[0].value()};
    if (out.final_state.c[0].defined()) {
      r.names.push_back("c_n");
      r.values.push_back(out.final_state.c[0].value());
    }
  } else {
    RNNOutput out = rnn.forward(x);
    Tensor seed_t(out.output.shape());
    Rng sr(seed + 1);
    sr.fill_uniform(seed_t, -1.0f, 1.0f);
    r.names = {"y"};
    r.values = {out.output.value()};
    sum(mul(out.output, Var(seed_t, false))).backward();
    r.names.push_back("dx");
    r.values.push_back(x.grad());
    for (auto& [n, v] : rnn.named_parameters()) {
      r.names.push_back("d" + n);
      r.values.push_back(v.grad());
    }
  }
  set_rnn_engine(RnnEngine::fast);
  return r;
}

void compare(const char* what, const Result& a, const Result& ref) {
  for (size_t k = 0; k < a.values.size(); ++k) {
    const Tensor x = a.values[k].contiguous(), y = ref.values[k].contiguous();
    double maxd = 0, maxr = 0, sumd = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double d = std::fabs(static_cast<double>(x.data()[i]) - y.data()[i]);
      maxd = std::max(maxd, d);
      sumd += d;
      maxr = std::max(maxr, std::fabs(static_cast<double>(y.data()[i])));
    }
    std::printf("{\"compare\":\"%s\",\"tensor\":\"%s\",\"max_abs\":%.3e,\"max_ref\":%.4g,\"rel_to_max\":%.3e,"
                "\"mean_abs\":%.3e}\n",
                what, a.names[k].c_str(), maxd, maxr, maxr > 0 ? maxd / maxr : 0.0, sumd / x.numel());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s CELL H B T [infer|train] [threads] [layers] [seed]\n", argv[0]);
    return 2;
  }
  if (!cpu_has_avx512_bf16()) {
    std::fprintf(stderr, "no AVX512_BF16 on this CPU: precision bf16 is not available\n");
    return 1;
  }
  const CellType cell = parse_cell(argv[1]);
  const int64_t H = std::atoll(argv[2]), B = std::atoll(argv[3]), T = std::atoll(argv[4]);
  const bool train = argc > 5 && std::string(argv[5]) == "train";
  if (argc > 6) set_num_threads(std::atoi(argv[6]));
  const int64_t L = argc > 7 ? std::atoll(argv[7]) : 1;
  const uint64_t seed = argc > 8 ? std::strtoull(argv[8], nullptr, 10) : 42;
  const Result f32 = run(cell, H, B, T, L, train, seed, Precision::fp32, RnnEngine::fast);
  const Result bf = run(cell, H, B, T, L, train, seed, Precision::bf16, RnnEngine::fast);
  const Result ref = run(cell, H, B, T, L, train, seed, Precision::fp32, RnnEngine::reference);
  compare("bf16_vs_fp32", bf, f32);
  compare("bf16_vs_ref", bf, ref);
  compare("fp32_vs_ref", f32, ref);
  return 0;
}
