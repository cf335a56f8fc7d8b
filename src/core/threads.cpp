#include "recurrent/core/threads.h"

#include <omp.h>

#include <atomic>
#include <cmath>

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

void set_min_parallel_work(double multiply_adds) {
  RC_CHECK(multiply_adds >= 0 && std::isfinite(multiply_adds), "min_parallel_work", "expected a finite value >= 0, got ",
           multiply_adds);
  g_min_work.store(multiply_adds, std::memory_order_relaxed);
}
double min_parallel_work() { return g_min_work.load(std::memory_order_relaxed); }
int threads_for(double multiply_adds) {
  return multiply_adds < min_parallel_work() ? 1 : num_threads();
}

ThreadScope::ThreadScope(int n) : prev_(omp_get_max_threads()) { omp_set_num_threads(n < prev_ ? n : prev_); }
ThreadScope::~ThreadScope() { omp_set_num_threads(prev_); }

}  // namespace recurrent
