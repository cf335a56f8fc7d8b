// Thread-count control (include/recurrent/core/threads.h): set_num_threads reaches OpenMP, and a bad
// count is an error. RECURRENT_NUM_THREADS and --threads are the CLI's (tests/cli/test_cli.cpp).
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"

using namespace recurrent;

namespace {

TEST(Threads, SetNumThreadsReachesOpenMP) {
  const int before = num_threads();
  set_num_threads(2);
  EXPECT_EQ(num_threads(), 2);
  EXPECT_EQ(omp_get_max_threads(), 2);
  int seen = 0;
#pragma omp parallel
  {
#pragma omp single
    seen = omp_get_num_threads();
  }
  EXPECT_EQ(seen, 2);
  set_num_threads(1);
  EXPECT_EQ(omp_get_max_threads(), 1);
  EXPECT_THROW(set_num_threads(0), Error);
  EXPECT_THROW(set_num_threads(-3), Error);
  EXPECT_EQ(num_threads(), 1) << "a rejected count changes nothing";
  set_num_threads(before);
}

// A std::thread starts from OpenMP's default count, not from set_num_threads; adopt_num_threads gives it
// the library's count (the server's engine threads: serve/lm_engine.cpp, serve/worker.cpp).
TEST(Threads, AStartedThreadAdoptsTheCount) {
  const int before = num_threads();
  const int n = omp_get_num_procs() + 1;  // never OpenMP's default
  set_num_threads(n);
  int plain = 0, adopted = 0;
  std::thread([&] { plain = omp_get_max_threads(); }).join();
  std::thread([&, k = num_threads()] {
    adopt_num_threads(k);
    adopted = omp_get_max_threads();
  }).join();
  EXPECT_NE(plain, n) << "OpenMP's count is per thread: a new thread does not inherit it";
  EXPECT_EQ(adopted, n);
  EXPECT_EQ(num_threads(), n);
  EXPECT_THROW(adopt_num_threads(0), Error);
  set_num_threads(before);
}

// Work below min_parallel_work() gets one thread; ThreadScope caps this thread's regions and restores.
TEST(Threads, SmallWorkRunsOnOneThreadAndTheScopeRestores) {
  const int before = num_threads();
  const double was = min_parallel_work();
  set_num_threads(2);
  set_min_parallel_work(1000);
  EXPECT_EQ(threads_for(999), 1);
  EXPECT_EQ(threads_for(1000), 2);
  set_min_parallel_work(0);
  EXPECT_EQ(threads_for(0), 2) << "0: no call is too small";
  EXPECT_THROW(set_min_parallel_work(-1), Error);
  {
    ThreadScope one(1);
    EXPECT_EQ(omp_get_max_threads(), 1);
    int seen = 0;
#pragma omp parallel
    {
#pragma omp single
      seen = omp_get_num_threads();
    }
    EXPECT_EQ(seen, 1);
    ThreadScope more(8);
    EXPECT_EQ(omp_get_max_threads(), 1) << "a scope never raises the count";
  }
  EXPECT_EQ(omp_get_max_threads(), 2);
  set_min_parallel_work(was);
  set_num_threads(before);
}

}  // namespace

// The load fit: cores less the other runnable tasks, at least 1, all cores when the count is unknown.
TEST(Threads, FitToLoadLeavesTheBusyCores) {
  EXPECT_EQ(fit_threads_to_load(2, 0), 2);
  EXPECT_EQ(fit_threads_to_load(2, 1), 1);
  EXPECT_EQ(fit_threads_to_load(2, 2), 1);
  EXPECT_EQ(fit_threads_to_load(2, 40), 1);
  EXPECT_EQ(fit_threads_to_load(8, 3), 5);
  EXPECT_EQ(fit_threads_to_load(4, -1), 4) << "unknown load: no fit";
}

// Three threads of this process that never sleep are runnable at every read of /proc/loadavg, so the
// count sees at least them (besides the caller), and a 2-core fit leaves one thread.
TEST(Threads, OthersRunningCountsBusyTasks) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> spin;
  for (int i = 0; i < 3; ++i)
    spin.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int others = others_running();
  stop = true;
  for (auto& t : spin) t.join();
  EXPECT_GE(others, 3);
  EXPECT_EQ(fit_threads_to_load(2, others), 1);
}
