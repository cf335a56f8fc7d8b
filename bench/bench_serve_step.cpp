// One generation step of `recurrent serve`'s batch, as its engine thread runs it: a trained language
// model's forward of ids [1, B] from a carried state, then log-softmax (serve/lm_engine.cpp step()),
// for B = 1, 8, 32, 64, 128 on one thread. Reported per step: the thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID: less sensitive than wall time to other processes on a shared machine)
// and wall time, tokens per CPU second, and the B = 32 : B = 1 ratio of tokens per CPU second — the
// most that batching can give the server's 32-client throughput over one client's before any HTTP
// work. Checks first that every row's log-probabilities are finite and sum to 1.
//
//   build/bench/bench_serve_step MODEL_DIR [fold: rule | on | off] [B …]   (default: the rule, as serve;
//   B = 1 8 32 64 128; give e.g. `rule 32` to profile one batch size alone)
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/threads.h"
#include "recurrent/nn/rnn_types.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/tasks/lm.h"

using namespace recurrent;

namespace {

double thread_cpu() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double wall() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_serve_step MODEL_DIR [rule|on|off] [B ...]\n");
    return 2;
  }
  const std::string fold = argc > 2 ? argv[2] : "rule";
  set_num_threads(1);
  EngineConfig e = default_engine();
  e.fold = fold == "on" ? 1 : fold == "off" ? -1 : 0;
  set_default_engine(e);
  auto model = tasks::open_lm(tasks::resolve_model_path(argv[1]));
  model->eval();
  auto* lm = dynamic_cast<tasks::LanguageModel*>(model.get());
  if (!lm) {
    std::fprintf(stderr, "bench_serve_step: %s is not an RNN language model\n", argv[1]);
    return 2;
  }
  std::vector<int64_t> sizes;
  for (int i = 3; i < argc; ++i) sizes.push_back(std::max<int64_t>(1, std::atoll(argv[i])));
  if (sizes.empty()) sizes = {1, 8, 32, 64, 128};
  NoGradGuard ng;
  double per_token_1 = 0;
  for (int64_t B : sizes) {
    RNNState st;  // [D, B, R] per layer, carried from step to step as the server's batch
    std::vector<int64_t> ids(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) ids[b] = 1 + b % (model->vocab_size() - 1);
    Tensor lp;
    for (int i = 0; i < 20; ++i) lp = log_softmax(lm->forward(ids, 1, B, st)).value().contiguous();
    const int64_t V = lp.size(2);
    for (int64_t b = 0; b < B; ++b) {  // the check: finite log-probabilities summing to 1
      double z = 0;
      for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(lp.data()[b * V + v]));
      if (!(std::fabs(z - 1.0) < 1e-4)) {
        std::fprintf(stderr, "bench_serve_step: row %ld of B = %ld sums to %g\n", static_cast<long>(b), static_cast<long>(B), z);
        return 1;
      }
    }
    const int n = static_cast<int>(std::max<int64_t>(200, 8000 / B));
    const double c0 = thread_cpu(), w0 = wall();
    for (int i = 0; i < n; ++i) lp = log_softmax(lm->forward(ids, 1, B, st)).value();
    const double cpu = (thread_cpu() - c0) / n, w = (wall() - w0) / n;
    if (B == 1) per_token_1 = cpu;
    std::printf("B = %3ld  CPU %8.1f us/step  wall %8.1f us/step  %8.0f tokens per CPU second", static_cast<long>(B),
                1e6 * cpu, 1e6 * w, B / cpu);
    if (per_token_1 > 0) std::printf("  (%.2fx B = 1's)", per_token_1 / (cpu / B));
    std::printf("\n");
  }
  return 0;
}
