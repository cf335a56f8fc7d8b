// Denormals flushed to zero (include/recurrent/core/float_env.h): on the calling thread, on every thread
// of its OpenMP team, and on a thread it starts later; off again restores IEEE gradual underflow.
#include <gtest/gtest.h>
#include <omp.h>

#include <thread>
#include <vector>

#include "recurrent/core/float_env.h"

using namespace recurrent;

namespace {

// 1e-20 · 1e-20 = 1e-40 is below 2^-126: FTZ makes the result 0. 1e-40 · 1e30 reads a denormal input:
// DAZ (x86) / FZ (aarch64) read it as 0. volatile keeps the compiler from folding either at build time.
struct Underflow {
  float product, from_denormal;
};
Underflow underflow() {
  volatile float a = 1e-20f, d = 1e-40f, big = 1e30f;
  return {a * a, d * big};
}
bool flushed(const Underflow& u) { return u.product == 0.0f && u.from_denormal == 0.0f; }
bool gradual(const Underflow& u) { return u.product > 0.0f && u.from_denormal > 1e-11f; }

class FloatEnv : public ::testing::Test {
 protected:
  // A team of 3 (more than the CI machine's cores): set_flush_denormal reaches the team of the current
  // count, so the count is set first.
  void SetUp() override {
    before_ = flush_denormal();
    threads_ = omp_get_max_threads();
    omp_set_num_threads(3);
  }
  void TearDown() override {
    set_flush_denormal(before_);
    omp_set_num_threads(threads_);
  }
  bool before_ = false;
  int threads_ = 1;
};

TEST_F(FloatEnv, FlushReachesTheTeamAndLaterThreads) {
  // The team's threads exist before the call, started while flushing was off: the call must reach them
  // (not only threads it starts itself, which would inherit the caller's mode anyway).
  if (!set_flush_denormal(false)) GTEST_SKIP() << "no flush-to-zero mode on this CPU";
  std::vector<int> before(3, -1);
#pragma omp parallel num_threads(3)
  before[omp_get_thread_num()] = gradual(underflow());
  for (int t = 0; t < 3; ++t) ASSERT_EQ(before[t], 1) << "OpenMP thread " << t << " flushed before the call";
  ASSERT_TRUE(set_flush_denormal(true));
  EXPECT_TRUE(flush_denormal());
  EXPECT_TRUE(flushed(underflow()));
  const int n = 3;  // the workers started above
  std::vector<int> ok(n, -1);
#pragma omp parallel num_threads(n)
  ok[omp_get_thread_num()] = flushed(underflow()) && flush_denormal();
  for (int t = 0; t < n; ++t) EXPECT_EQ(ok[t], 1) << "OpenMP thread " << t;
  bool in_thread = false;
  std::thread([&] { in_thread = flushed(underflow()); }).join();
  EXPECT_TRUE(in_thread) << "a thread started after the call inherits the mode";
}

TEST_F(FloatEnv, OffRestoresGradualUnderflowEverywhere) {
  if (!set_flush_denormal(true)) GTEST_SKIP() << "no flush-to-zero mode on this CPU";
  ASSERT_TRUE(set_flush_denormal(false));
  EXPECT_FALSE(flush_denormal());
  EXPECT_TRUE(gradual(underflow()));
  const int n = omp_get_max_threads();
  std::vector<int> ok(n, -1);
#pragma omp parallel num_threads(n)
  ok[omp_get_thread_num()] = gradual(underflow());
  for (int t = 0; t < n; ++t) EXPECT_EQ(ok[t], 1) << "OpenMP thread " << t;
}

}  // namespace
