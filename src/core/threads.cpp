#include "recurrent/core/threads.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
int configured = 0;  // 0: not yet set
std::atomic<double> g_min_work{0.0};

int initial() { return omp_get_num_procs(); }
}  // namespace

int num_threads() {
  if (configured == 0) set_num_threads(initial());
  return configured;
}

void set_num_threads(int n) {
  RC_CHECK(n >= 1, "--threads", "expected a positive thread count, got ", n);
  configured = n;
  omp_set_num_threads(n);
}

void adopt_num_threads(int n) {
  RC_CHECK(n >= 1, "--threads", "expected a positive thread count, got ", n);
  omp_set_num_threads(n);
}

void set_min_parallel_work(double multiply_adds) {
  RC_CHECK(multiply_adds >= 0 && std::isfinite(multiply_adds), "min_parallel_work", "expected a finite value >= 0, got ",
           multiply_adds);
  g_min_work.store(multiply_adds, std::memory_order_relaxed);
}
double min_parallel_work() { return g_min_work.load(std::memory_order_relaxed); }
int threads_for(double multiply_adds) {
  return multiply_adds < min_parallel_work() ? 1 : num_threads();
}

int fit_threads_to_load(int cores, int others) {
  if (cores < 1) cores = 1;
  if (others < 0) return cores;  // unknown: no fit
  return std::clamp(cores - others, 1, cores);
}

namespace {
// /proc/loadavg: "0.52 0.58 0.59 R/T LASTPID", R = runnable tasks now, the reader included. -1 if unreadable.
int runnable_now() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return -1;
  double a = 0, b = 0, c = 0;
  int running = -1, total = 0;
  const int got = std::fscanf(f, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total);
  std::fclose(f);
  return got == 5 && running >= 1 ? running : -1;
}
}  // namespace

int others_running() {
  int least = -1;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const int r = runnable_now();
    if (r < 0) return -1;
    least = least < 0 ? r : std::min(least, r);
    if (least <= 1) break;  // only the caller runs: no later read can count fewer (idle: no wait)
  }
  return least - 1;  // less the caller
}

ThreadScope::ThreadScope(int n) : prev_(omp_get_max_threads()) { omp_set_num_threads(n < prev_ ? n : prev_); }
ThreadScope::~ThreadScope() { omp_set_num_threads(prev_); }

}  // namespace recurrent
