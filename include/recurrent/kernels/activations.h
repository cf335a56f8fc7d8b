// recurrent/kernels/activations.h — vectorised sigmoid and tanh over float arrays, for the fused
// RNN gate kernels.
//
//   sigmoid(x) = 1 / (1 + e^-x)          tanh(x) = sign(x) · -expm1(u) / (1 + e^u),  u = -2|x|
//
// One algorithm, two implementations: the portable scalar one below (inline, usable inside any
// generic kernel loop; GCC vectorises it) and the SIMD one of every target in
// src/kernels/simd/math-inl.h. The array functions run the default target's (recurrent/kernels/target.h).
//   exp:  e^x = 2^n · e^r, n = round(x / ln 2), r = x - n·ln 2 in Cody–Waite two-part form,
//         e^r by Cephes expf's degree-6 polynomial (|r| ≤ ln2/2), input clamped to [-87, 88].
//   tanh: u = -2·min(|x|, 10) ∈ [-20, 0] (float tanh is 1 from 9.01 on), reduced as for exp
//         (n ∈ [-29, 0], s = 2^n); expm1(r) = r + r²·P(r) with the same polynomial, then
//           num = (1 - s) - expm1(r)·s   = -expm1(u) = 1 - e^u   (one rounding; no cancellation near 0)
//           den = (expm1(r)·s + s) + 1   = e^u + 1              (e^u rounded once, then + 1)
//         t = num / den = tanh|x|, and the sign of x is copied (odd function; keeps tanh(-0) = -0).
//         1 - s is exact for n ≥ -24 and off by s ≤ 2^-25 below; 1 + s would be inexact from n = -24
//         on, hence den through e^u. (den = expm1(u) + 2 from the rounded expm1(u) would count that
//         rounding twice: 1.49e-7 abs at x = 4.5.) One division, no blend of two formulas.
// Maximum error against double precision, measured over all 2^32 inputs (`bench_activations
// --exhaustive`): tanh 8.93e-8 abs at x = 3.906 (both paths), 1.78e-7 rel at x = 0.1740 (AVX-512;
// generic 1.77e-7 at x = 0.1477: the generic path has no FMA, so the two differ, by ≤ 3 ulp on 0.1%
// of inputs); sigmoid 8.93e-8 abs at x = 7.859, 1.48e-7 rel at x = -16.64 (both paths). Stated
// bounds, asserted by tests/kernels/test_activations.cpp over every 256th bit pattern plus a dense
// grid:
//   tanh:    absolute ≤ 1e-7 everywhere; relative ≤ 2e-7
//   sigmoid: absolute ≤ 1e-7 everywhere; relative ≤ 2e-7 where sigmoid(x) ≥ 1e-37 (x ≥ -85)
// Large |x| saturate (to ±1, 1, or below 1e-38) without overflow; NaN in gives NaN out; -0 → -0 (tanh).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace recurrent {

// y[i] = f(x[i]) for i < n; y == x (in place) is allowed, other overlaps are not.
void sigmoid_vec(const float* x, float* y, int64_t n);
void tanh_vec(const float* x, float* y, int64_t n);
inline void sigmoid_inplace(float* x, int64_t n) { sigmoid_vec(x, x, n); }
inline void tanh_inplace(float* x, int64_t n) { tanh_vec(x, x, n); }

// The generic (portable) array paths, whatever the target: for tests and benchmarks.
void sigmoid_vec_generic(const float* x, float* y, int64_t n);
void tanh_vec_generic(const float* x, float* y, int64_t n);

// ---- scalar forms of the same algorithm ------------------------------------------------------
namespace act {
// Cephes expf coefficients (Moshier): e^r ≈ 1 + r + r²·P(r) on |r| ≤ ln2/2.
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;       // exactly representable, few mantissa bits
inline constexpr float kLn2Lo = -2.12194440e-4f;    // ln 2 - kLn2Hi
inline constexpr float kExpP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                   4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
inline constexpr float kExpMin = -87.0f, kExpMax = 88.0f;  // 2^n stays a normal float
inline constexpr float kTanhClamp = 10.0f;  // float(tanh(x)) == 1 from x ≈ 9.01 on
}  // namespace act

// Branch-free (selects, no libm calls) so that compilers vectorise loops over these.
// e^x for x not NaN; clamped to [e^-87, e^88].
inline float exp_scalar(float x) {
  x = x < act::kExpMin ? act::kExpMin : x;
  x = x > act::kExpMax ? act::kExpMax : x;
  const float n = std::nearbyint(x * act::kLog2e);
  const float r = (x - n * act::kLn2Hi) - n * act::kLn2Lo;
  float p = act::kExpP[0];
  for (int i = 1; i < 6; ++i) p = p * r + act::kExpP[i];
  const float e = p * (r * r) + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n, n ∈ [-126, 127]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return e * scale;
}

inline float sigmoid_scalar(float x) {
  const bool nan = x != x;
  const float s = 1.0f / (1.0f + exp_scalar(nan ? 0.0f : -x));
  return nan ? x : s;
}

inline float tanh_scalar(float x) {
  const bool nan = x != x;
  const float ax = nan ? 0.0f : std::fabs(x);
  const float u = -2.0f * (ax > act::kTanhClamp ? act::kTanhClamp : ax);  // [-20, 0]
  const float n = std::nearbyint(u * act::kLog2e);                        // [-29, 0]
  const float r = (u - n * act::kLn2Hi) - n * act::kLn2Lo;
  float p = act::kExpP[0];
  for (int i = 1; i < 6; ++i) p = p * r + act::kExpP[i];
  const float em = p * (r * r) + r;  // expm1(r)
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float s;  // 2^n; em·s below is exact, so each of num, den (e^u) rounds once, as with FMA
  std::memcpy(&s, &bits, sizeof s);
  const float num = (1.0f - s) - em * s;  // -expm1(u)
  const float den = (em * s + s) + 1.0f;  // e^u + 1
  return nan ? x : std::copysign(num / den, x);  // tanh is odd: sign of x (keeps tanh(-0) = -0)
}

}  // namespace recurrent
