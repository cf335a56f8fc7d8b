// Thread-count control (include/recurrent/core/threads.h): set_num_threads reaches OpenMP, and a bad
// count is an error. RECURRENT_NUM_THREADS and --threads are the CLI's (tests/cli/test_cli.cpp).
#include <gtest/gtest.h>
#include <omp.h>

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

}  // namespace
