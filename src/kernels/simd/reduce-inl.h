// Reductions over float arrays for every SIMD target (include/recurrent/kernels/reduce.h).   x: [n]
#if defined(RECURRENT_KERNELS_SIMD_REDUCE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_REDUCE_INL_H_
#undef RECURRENT_KERNELS_SIMD_REDUCE_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_REDUCE_INL_H_
#endif

#include <cstdint>

#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// Σ x[i]² in double. A float times a float is exact in double, so each term is exact and only the
// additions round. Four vectors of double partial sums (independent add chains: the loop runs at the
// speed of memory, not of one chain's latency), then whole vectors into the first, then the last < N
// elements one by one; combined in a fixed order, so a given target gives the same value every time.
inline double SumSquares(const float* x, int64_t n) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;  // N floats, widened to N doubles
  const int64_t N = static_cast<int64_t>(hn::MaxLanes(dd));
  auto a0 = hn::Zero(dd), a1 = hn::Zero(dd), a2 = hn::Zero(dd), a3 = hn::Zero(dd);
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const auto v0 = hn::PromoteTo(dd, hn::LoadU(df, x + i));
    const auto v1 = hn::PromoteTo(dd, hn::LoadU(df, x + i + N));
    const auto v2 = hn::PromoteTo(dd, hn::LoadU(df, x + i + 2 * N));
    const auto v3 = hn::PromoteTo(dd, hn::LoadU(df, x + i + 3 * N));
    a0 = hn::MulAdd(v0, v0, a0);
    a1 = hn::MulAdd(v1, v1, a1);
    a2 = hn::MulAdd(v2, v2, a2);
    a3 = hn::MulAdd(v3, v3, a3);
  }
  for (; i + N <= n; i += N) {
    const auto v = hn::PromoteTo(dd, hn::LoadU(df, x + i));
    a0 = hn::MulAdd(v, v, a0);
  }
  double s = hn::GetLane(hn::SumOfLanes(dd, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
