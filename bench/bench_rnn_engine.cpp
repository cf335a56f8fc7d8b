// Engine timing harness for one recurrent-layer configuration, through the public RNN module API
// (the user-facing `recurrent bench` command is separate). Prints one JSON line per mode with the
// median and minimum time of `reps` runs (after one warm-up), tokens/s and GFLOP/s, in the units the oneDNN
// anchor (bench/anchors/rnn_dnnl.cpp) prints, so the two can be compared in the same shell:
//
//   bench_rnn_engine CELL H B T [layers] [bidir 0|1] [infer|train|both] [reps] [threads] [proj P] [fp32|bf16]
//   e.g. bench_rnn_engine lstm 256 64 100 1 0 train 7 2;  bench_rnn_engine lstm 256 64 100 1 0 train 7 1 0 bf16
//
// FLOPs per token per layer and direction: forward 2·G·H·(I+R) (+ 2·R·H for an LSTM projection to R = P;
// R = H without); training counted as 3× forward. I = H (every layer without projection, as the
// anchors count; with projection the first layer, then the true D·R). Training = forward + backward of sum(output ⊙ seed) (one tape op per layer).
// Also reports the peak resident memory of the process and DirTape bytes per token kept for backward (RNNOutput::tape_bytes / (T·B)).
// cpu_s_med: median process CPU time per run (all threads; on a shared, oversubscribed machine the
// 1-thread CPU time is the steadier figure). Before timing, the outputs are checked to be finite (a broken build must not report a speed).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <sys/resource.h>
#include <string>
#include <vector>

#include "recurrent/autograd/ops.h"
#include "recurrent/autograd/var.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"
#include "recurrent/nn/rnn.h"

using namespace recurrent;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double cpu_seconds() {  // this process, all threads (spin-waiting included)
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;  // KiB on Linux
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bool all_finite(const Tensor& t) {
  Tensor c = t.contiguous();
  for (int64_t i = 0; i < c.numel(); ++i)
    if (!std::isfinite(c.data()[i])) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s CELL H B T [layers] [bidir] [infer|train|both] [reps] [threads] [proj] [fp32|bf16]\n",
                 argv[0]);
    return 2;
  }
  const CellType cell = parse_cell(argv[1]);
  const int64_t H = std::atoll(argv[2]), B = std::atoll(argv[3]), T = std::atoll(argv[4]);
  const int64_t L = argc > 5 ? std::atoll(argv[5]) : 1;
  const bool bidir = argc > 6 && std::atoi(argv[6]) != 0;
  const std::string mode = argc > 7 ? argv[7] : "both";
  const int reps = argc > 8 ? std::atoi(argv[8]) : 5;
  if (argc > 9) set_num_threads(std::atoi(argv[9]));
  const int64_t P = argc > 10 ? std::atoll(argv[10]) : 0;
  const Precision precision = argc > 11 ? parse_precision(argv[11]) : Precision::fp32;

  Rng rng(42);
  RNNOptions opts = RNNOptions::uniform(cell, H, H, L, bidir, P);
  opts.precision = precision;
  RNN rnn(opts, rng);
  Tensor xv({T, B, H});
  rng.fill_uniform(xv, -1.0f, 1.0f);
  const int64_t D = bidir ? 2 : 1, G = gate_count(cell), R = P > 0 ? P : H;
  // Without projection every layer is counted with input H (the anchors' convention); with it, the true
  // input of layers after the first (D·R) and the projection product.
  double token_flops = 0;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t I = (l == 0 || P == 0) ? H : D * R;
    token_flops += D * (2.0 * G * H * (I + R) + (P > 0 ? 2.0 * R * H : 0.0));
  }
  const double fwd_flops = token_flops * T * B;

  for (const char* m : {"infer", "train"}) {
    if (mode != "both" && mode != m) continue;
    const bool train = std::string(m) == "train";
    std::vector<double> times, cpu;
    int64_t tape_bytes = 0;
    bool finite = true;
    for (int r = 0; r <= reps; ++r) {
      Var x(xv, false);
      auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      if (train) {
        RNNOutput out = rnn.forward(x);
        tape_bytes = out.tape_bytes;
        Var loss = sum(out.output);
        loss.backward();
        if (r == 0) finite = all_finite(out.output.value()) && all_finite(rnn.param("weight_hh", 0, 0).grad());
      } else {
        NoGradGuard ng;
        RNNOutput out = rnn.forward(x);
        if (r == 0) finite = all_finite(out.output.value());
      }
      if (r > 0) {  // run 0 is the warm-up
        times.push_back(seconds_since(t0));
        cpu.push_back(cpu_seconds() - c0);
      }
    }
    if (!finite) {
      std::fprintf(stderr, "non-finite result: not timing\n");
      return 1;
    }
    const double sec = median(times), flops = fwd_flops * (train ? 3.0 : 1.0);
    std::printf(
        "{\"engine\":\"recurrent\",\"precision\":\"%s\",\"cell\":\"%s\",\"H\":%lld,\"proj\":%lld,\"B\":%lld,\"T\":%lld,\"layers\":%lld,\"bidir\":%d,"
        "\"mode\":\"%s\",\"threads\":%d,\"min_s\":%.6f,\"median_s\":%.6f,\"us_per_step\":%.2f,\"tokens_s\":%.0f,\"gflops\":%.1f,"
        "\"tape_bytes_per_token\":%.0f,\"cpu_s_med\":%.6f,\"peak_rss_mib\":%.0f}\n",
        precision_name(precision), argv[1], (long long)H, (long long)P, (long long)B, (long long)T, (long long)L, bidir ? 1 : 0, m, num_threads(),
        *std::min_element(times.begin(), times.end()), sec,
        sec / T * 1e6, T * B / sec, flops / sec * 1e-9, train ? double(tape_bytes) / (T * B) : 0.0, median(cpu), peak_rss_mib());
    std::fflush(stdout);
  }
  return 0;
}
