// Σ x² (kernels/reduce.h): the portable loop and the SIMD kernel of every target this CPU runs, against
// a long double sum, on lengths around every vector and unroll boundary; the same value on every call.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/simd/rnn_kernels.h"
#include "recurrent/core/rng.h"
#include "recurrent/kernels/reduce.h"
#include "recurrent/kernels/target.h"
#include "simd_targets.h"

namespace recurrent {
namespace {

using SumSquaresFn = double (*)(const float*, int64_t);
SumSquaresFn fn(int64_t target) { return target == 0 ? sum_squares_generic : simd::rnn_kernels(target).sum_squares; }

std::vector<int64_t> reduce_paths() {
  std::vector<int64_t> p{0};  // 0: the portable loop
  for (int64_t t : simd::cpu_targets()) p.push_back(t);
  return p;
}

long double exact(const std::vector<float>& x, int64_t n) {
  long double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<long double>(x[i]) * x[i];
  return s;
}

class SumSquares : public ::testing::TestWithParam<int64_t> {};

TEST_P(SumSquares, MatchesLongDoubleOnEveryLengthAndRepeatsItself) {
  const SumSquaresFn f = fn(GetParam());
  Rng rng(7);
  std::vector<float> x(1 << 16);
  for (float& v : x) v = rng.normal();
  x[5] = 1e-30f, x[6] = -2e-41f;  // tiny terms and a denormal: each square exact in double
  std::vector<int64_t> lengths;
  for (int64_t n = 0; n <= 80; ++n) lengths.push_back(n);  // every tail of 4 vectors of 8 doubles, and shorter
  for (int64_t n : {127, 128, 129, 1000, 4099, 1 << 16}) lengths.push_back(n);
  for (int64_t n : lengths) {
    const long double want = exact(x, n);
    const double got = f(x.data(), n);
    // Every term exact, all ≥ 0: each partial sum's rounding is ≤ 2⁻⁵³ of the total, at most n of them.
    EXPECT_LE(std::fabs(static_cast<long double>(got) - want), static_cast<long double>(n) * 0x1p-53L * want)
        << "n = " << n;
    EXPECT_EQ(got, f(x.data(), n)) << "n = " << n << ": a second call differs";
  }
  EXPECT_EQ(f(x.data(), 0), 0.0);
  // Inf and NaN propagate (grad_norm's callers check for them).
  std::vector<float> bad(37, 1.0f);
  bad[35] = INFINITY;
  EXPECT_TRUE(std::isinf(f(bad.data(), 37)));
  bad[35] = NAN;
  EXPECT_TRUE(std::isnan(f(bad.data(), 37)));
}

INSTANTIATE_TEST_SUITE_P(Targets, SumSquares, ::testing::ValuesIn(reduce_paths()), [](const auto& info) {
  return info.param == 0 ? std::string("generic") : simd::target_name(info.param);
});

}  // namespace
}  // namespace recurrent
