// Row max, exp-shift-sum (softmax) and GELU for every SIMD target: the same algorithms and constants as
// the portable forms (include/recurrent/kernels/softmax.h, gelu.h).   x, y, g, dx: [n]
#if defined(RECURRENT_KERNELS_SIMD_TRANSFORMER_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_TRANSFORMER_INL_H_
#undef RECURRENT_KERNELS_SIMD_TRANSFORMER_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_TRANSFORMER_INL_H_
#endif

#include <limits>
#include <type_traits>

#include "kernels/simd/math-inl.h"
#include "kernels/simd/vec-inl.h"
#include "recurrent/kernels/gelu.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// Φ(x) lane-wise (normal_cdf_scalar in gelu.h): erfc from its Chebyshev-fitted exponential form.
HWY_INLINE V NormalCdf(V x) {
  using namespace gelu_detail;
  const D d;
  const V one = hn::Set(d, 1.0f), half = hn::Set(d, 0.5f);
  const V z = hn::Mul(hn::Abs(x), hn::Set(d, kInvSqrt2));
  const V t = hn::Div(one, hn::MulAdd(half, z, one));
  V p = hn::Set(d, kErfc[9]);
  for (int i = 8; i >= 0; --i) p = hn::MulAdd(p, t, hn::Set(d, kErfc[i]));
  const V e = Exp(d, hn::NegMulAdd(z, z, p));  // p − z²
  const V half_erfc = hn::Mul(hn::Mul(half, t), e);
  return hn::IfThenElse(hn::Lt(x, hn::Zero(d)), half_erfc, hn::Sub(one, half_erfc));
}

HWY_INLINE V GeluV(V x) { return hn::Mul(x, NormalCdf(x)); }

HWY_INLINE V GeluGradV(V x) {
  const D d;
  const V phi = Exp(d, hn::Mul(hn::Set(d, -0.5f), hn::Mul(x, x)));
  return hn::MulAdd(hn::Mul(x, hn::Set(d, gelu_detail::kInvSqrt2Pi)), phi, NormalCdf(x));
}

inline float MaxArray(const float* x, int64_t n) {
  const D d;
  const float ninf = -std::numeric_limits<float>::infinity();
  V m = hn::Set(d, ninf);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) m = hn::Max(m, hn::LoadU(d, x + i));
  HWY_ALIGN float lanes[kLanes];
  hn::Store(m, d, lanes);
  float r = lanes[0];
  for (int64_t l = 1; l < kLanes; ++l) r = lanes[l] > r ? lanes[l] : r;
  for (; i < n; ++i) r = x[i] > r ? x[i] : r;
  return r;
}

// x[i] = e^(x[i] − shift) (−inf, a masked key, gives 0); returns Σ, per-lane float partial sums in double.
inline double ExpShiftSum(float* x, int64_t n, float shift) {
  const D d;
  const V ninf = hn::Set(d, -std::numeric_limits<float>::infinity()), s = hn::Set(d, shift);
  V acc = hn::Zero(d);
  ForVectors(n, [&](int64_t i, auto k) {
    const V v = Ld(k, x + i);  // tail lanes past n: 0 (buffered or masked), never −inf; not stored
    V e = hn::IfThenElseZero(hn::Ne(v, ninf), Exp(d, hn::Sub(v, s)));
    if constexpr (std::is_same_v<decltype(k), Tail>) e = hn::IfThenElseZero(hn::FirstN(d, k.n), e);
    St(k, x + i, e);
    acc = hn::Add(acc, e);
  });
  HWY_ALIGN float lanes[kLanes];
  hn::Store(acc, d, lanes);
  double sum = 0.0;
  for (float l : lanes) sum += l;
  return sum;
}

inline void GeluArray(const float* x, float* y, int64_t n) {
  ForVectors(n, [&](int64_t i, auto k) { St(k, y + i, GeluV(Ld(k, x + i))); });
}

inline void GeluGradAdd(const float* x, const float* g, float* dx, int64_t n) {
  ForVectors(n, [&](int64_t i, auto k) {
    St(k, dx + i, hn::MulAdd(Ld(k, g + i), GeluGradV(Ld(k, x + i)), Ld(k, dx + i)));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
